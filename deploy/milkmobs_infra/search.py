"""Search: the OpenSearch domain holding video embeddings, and the index it serves.

The index itself is created by the ``create-opensearch-index`` Lambda through the custom
resource Provider framework (the stack passes that function in), so the mapping lives in one
place: the library's OpenSearch adapter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_opensearchservice as opensearch
from aws_cdk import custom_resources as cr
from constructs import Construct

from milkmobs_infra._util import retention as _retention


class VectorSearch(Construct):
    """An encrypted, HTTPS-only OpenSearch domain reachable only by the roles given to ``allow``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        engine_version: str,
        instance_type: str,
        data_nodes: int,
        volume_gb: int,
        removal_policy: cdk.RemovalPolicy,
        log_retention_days: int,
    ) -> None:
        super().__init__(scope, construct_id)
        if data_nodes < 1:
            raise ValueError(f"OpenSearch needs at least one data node, got {data_nodes}")
        if not 3 <= len(domain_name) <= 28:
            raise ValueError(f"OpenSearch domain names have 3 to 28 characters, got {domain_name!r}")
        self._domain_name = domain_name
        self._grants: list[tuple[iam.IRole, list[str], list[str]]] = []
        log_groups = {
            kind: logs.LogGroup(
                self,
                f"{kind}Logs",
                log_group_name=f"/aws/opensearch/{domain_name}/{kind.lower()}",
                retention=_retention(log_retention_days),
                removal_policy=removal_policy,
            )
            for kind in ("SlowSearch", "SlowIndex", "Application")
        }
        # OpenSearch may write to exactly these groups. A native AWS::Logs::ResourcePolicy instead
        # of CDK's default (a custom-resource Lambda allowed logs:PutResourcePolicy on "*").
        logs_policy = logs.ResourcePolicy(
            self,
            "LogsResourcePolicy",
            resource_policy_name=f"{domain_name}-opensearch-logs",
            policy_statements=[
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal("es.amazonaws.com")],
                    actions=["logs:PutLogEvents", "logs:CreateLogStream"],
                    resources=[g.log_group_arn for g in log_groups.values()],
                )
            ],
        )
        multi_az = data_nodes > 1
        self.domain = opensearch.Domain(
            self,
            "Domain",
            version=opensearch.EngineVersion.open_search(engine_version),
            capacity=opensearch.CapacityConfig(
                data_nodes=data_nodes,
                data_node_instance_type=instance_type,
                multi_az_with_standby_enabled=False,
            ),
            ebs=opensearch.EbsOptions(volume_size=volume_gb, volume_type=ec2.EbsDeviceVolumeType.GP3),
            zone_awareness=opensearch.ZoneAwarenessConfig(
                enabled=multi_az, availability_zone_count=2 if multi_az else None
            ),
            encryption_at_rest=opensearch.EncryptionAtRestOptions(enabled=True),
            node_to_node_encryption=True,
            enforce_https=True,
            tls_security_policy=opensearch.TLSSecurityPolicy.TLS_1_2,
            domain_name=domain_name,
            logging=opensearch.LoggingOptions(
                slow_search_log_enabled=True,
                slow_search_log_group=log_groups["SlowSearch"],
                slow_index_log_enabled=True,
                slow_index_log_group=log_groups["SlowIndex"],
                app_log_enabled=True,
                app_log_group=log_groups["Application"],
            ),
            suppress_logs_resource_policy=True,
            removal_policy=removal_policy,
        )
        # OpenSearch checks at creation that it may write its logs: without this order a first
        # deploy races the policy and fails ("The Resource Access Policy ... is not sufficient").
        self.domain.node.add_dependency(logs_policy)
        # The resource policy names each role that may call the domain: set by ``allow``, because
        # the roles are made after the domain (the functions need its endpoint).
        cfn_domain = self.domain.node.default_child
        assert isinstance(cfn_domain, opensearch.CfnDomain)
        self._cfn_domain = cfn_domain

    def allow(self, role: iam.IRole, grants: Sequence[tuple[Sequence[str], Sequence[str]]]) -> None:
        """Let ``role`` through the domain's resource policy for these (actions, resource ARNs) only:
        the same verbs and index paths as its own policy, so a reader can only search."""
        self._grants.extend((role, list(actions), list(resources)) for actions, resources in grants)
        self._cfn_domain.access_policies = self.resource_policy()

    @property
    def domain_name(self) -> str:
        return self._domain_name

    @property
    def endpoint(self) -> str:
        """``https://search-...``: what ``MILKMOBS_OPENSEARCH__ENDPOINT`` is set to."""
        return "https://" + self.domain.domain_endpoint

    def resource_policy(self) -> dict[str, Any]:
        """The domain's access policy document: per allowed role, only its verbs on its paths."""
        return {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": role.role_arn}, "Action": actions, "Resource": resources}
                for role, actions, resources in self._grants
            ],
        }


class VideoIndex(Construct):
    """Runs ``create-opensearch-index`` on stack create/update through the Provider framework."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        properties: dict[str, Any],
        log_retention_days: int,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        provider_logs = logs.LogGroup(
            self, "ProviderLogs", retention=_retention(log_retention_days), removal_policy=removal_policy
        )
        self.provider = cr.Provider(self, "Provider", on_event_handler=handler, log_group=provider_logs)
        # The properties are passed to the handler; a change (dimension, engine) triggers an Update.
        self.resource = cdk.CustomResource(
            self,
            "VideosIndex",
            service_token=self.provider.service_token,
            properties=properties,
            resource_type="Custom::OpenSearchIndex",
        )
