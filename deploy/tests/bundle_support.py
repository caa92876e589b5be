"""The Lambda bundle as shipped, run here: each function's handler in its own isolated interpreter.

``python -I -S`` starts with the standard library only (no site-packages, no user site, no
PYTHONPATH); the worker puts on ``sys.path`` exactly what Lambda would — the code asset (``src/``)
and the layers the function is given, installed for this machine from the same hash-checked locks
(the shipped wheels are aarch64/cp314; pure-Python files are identical) — imports the handler and
serves invocations over a pipe. A missing module shows at import, or at the first invocation.

While it runs, the worker records every AWS call its handler makes: ``provide-client-params`` and
``before-call`` hooks on every botocore session's event system (the service's IAM prefix, the
operation, the parameters that name resources), and the OpenSearch HTTP requests (method, path). ``iam_requirements``
turns each call into the IAM actions and resources it needs, so a test can hold each one against
the function's synthesized policy.
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from deploy_support import resolve
from milkmobs_infra import assets
from milkmobs_infra.config import AssetMode
from milkmobs_infra.function_specs import FunctionSpec

from milkmobs.adapters.aws.bedrock.models import base_model_id

REGION = "us-east-1"
ACCOUNT = "123456789012"
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


def host_layer(name: str) -> Path:
    """The layer ``name`` installed from its lock for this interpreter (cached by the lock's hash)."""
    layer = assets.build_layer_dir(
        name, assets.LAYER_LOCKS[name], python_version=HOST_PYTHON, platforms=(), mode=AssetMode.BUILD
    )
    return layer / "python"


def lambda_layer(name: str) -> Path:
    """The layer ``name`` exactly as a real synth ships it (aarch64, cp314 wheels)."""
    layer = assets.build_layer_dir(name, assets.LAYER_LOCKS[name], python_version="3.14", mode=AssetMode.BUILD)
    return layer / "python"


def bundle_path(spec: FunctionSpec) -> list[str]:
    """``sys.path`` of ``spec``'s function, in Lambda's order: the code, then its layers."""
    return [str(assets.SRC_DIR), *(str(host_layer(name)) for name in assets.layers_of(spec))]


# The worker: run as ``python -I -S -c WORKER <json sys.path> <handler>``. Requests and answers are
# JSON lines on its own pipes; anything the handler prints goes to stderr.
WORKER = r'''
import json, os, sys
sys.path[:0] = json.loads(sys.argv[1])
answers = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
calls = []

def named(params, model, context, **kwargs):
    """provide-client-params: the API parameters that name resources, kept for before-call."""
    names = {k: params[k] for k in ("TableName", "IndexName", "Bucket", "Key", "VersionId", "FunctionName",
             "SecretId", "stateMachineArn", "executionArn", "modelId", "invocationArn", "Namespace", "InvocationType",
             "DistributionId")
             if k in params}
    if "TransactItems" in params:
        names["TransactItems"] = [{kind: {"TableName": item[kind]["TableName"]} for kind in item}
                                  for item in params["TransactItems"]]
    if "RequestItems" in params:
        names["RequestItems"] = sorted(params["RequestItems"])
    if "Delete" in params:
        names["Delete"] = [{"Key": o["Key"], "VersionId": o.get("VersionId")} for o in params["Delete"]["Objects"]]
    if "Entries" in params:
        names["EventBusNames"] = sorted({e.get("EventBusName", "default") for e in params["Entries"]})
    context["recorded_names"] = names
    return None  # the parameters go on unchanged


def record(model, context, **kwargs):
    """before-call: a request really goes out (presigning emits no before-call)."""
    calls.append({"service": model.service_model.signing_name, "operation": model.name,
                  "params": context.get("recorded_names", {})})

def record_settings():
    """Every setting the function reads (``aws.region``), from the cold start on: the recording of
    milkmobs.settings, entered for the worker's life."""
    global recording  # held: the recording ends when its context manager is collected
    from milkmobs.settings import recorded_reads
    recording = recorded_reads()
    return recording.__enter__()

import botocore.handlers
botocore.handlers.BUILTIN_HANDLERS.append(("provide-client-params", named))
botocore.handlers.BUILTIN_HANDLERS.append(("before-call", record))
module_name, _, attribute = sys.argv[2].rpartition(".")
try:
    import importlib
    handler = getattr(importlib.import_module(module_name), attribute)
except BaseException as exc:
    answers.write(json.dumps({"import_error": f"{type(exc).__name__}: {exc}"}) + "\n")
    raise SystemExit(1)

def record_opensearch():
    try:
        from opensearchpy.connection import RequestsHttpConnection
    except ImportError:
        return
    original = RequestsHttpConnection.perform_request
    def perform_request(self, method, url, *args, **kwargs):
        calls.append({"service": "opensearch", "operation": method, "params": {"path": url.split("?")[0]}})
        return original(self, method, url, *args, **kwargs)
    RequestsHttpConnection.perform_request = perform_request

class LambdaContext:
    """What the Lambda runtime hands a handler (Powertools Logger reads these)."""

    function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "function")
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:" + function_name
    memory_limit_in_mb = 256
    log_group_name = "/aws/lambda/" + function_name
    log_stream_name = "worker"
    aws_request_id = ""

    def get_remaining_time_in_millis(self):
        return 30_000

answers.write(json.dumps({"ready": sys.path}) + "\n")
setup = sys.stdin.readline()
settings_read = record_settings()  # before the set-up, which builds the container's application
if setup.strip():
    exec(json.loads(setup)["code"], {"__name__": "bundle_setup"})
record_opensearch()
import uuid
for line in sys.stdin:  # calls made while setting up (cold start) go with the first answer
    event = json.loads(line)
    context = LambdaContext()
    context.aws_request_id = str(uuid.uuid4())
    try:
        answer = {"result": handler(event, context)}
    except Exception as exc:
        answer = {"errorType": type(exc).__name__, "errorMessage": str(exc)}
    answer["calls"] = list(calls)
    answer["settings_read"] = sorted(settings_read)
    calls.clear()
    answers.write(json.dumps(answer, default=str) + "\n")
'''


class BundleImportError(AssertionError):
    pass


@dataclass
class Invocation:
    result: Any
    error_type: str | None
    error_message: str | None
    calls: list[dict[str, Any]]
    #: The settings the handler has read while invoked so far (dotted: ``aws.region``).
    settings_read: list[str] = field(default_factory=list)


class HandlerWorker:
    """One function's handler in its own isolated interpreter, invoked over a pipe."""

    def __init__(self, spec: FunctionSpec, environment: Mapping[str, str], *, setup_code: str = "") -> None:
        self.spec = spec
        self.path = bundle_path(spec)
        self._lock = threading.Lock()
        self._process = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", WORKER, json.dumps(self.path), spec.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=dict(environment),
            cwd="/",
        )
        self._stderr: list[str] = []
        threading.Thread(target=self._drain, daemon=True).start()
        assert self._process.stdout is not None and self._process.stdin is not None
        first = self._process.stdout.readline()
        ready = json.loads(first) if first else {"import_error": "the worker died: " + self.stderr()}
        if "import_error" in ready:
            self.close()
            raise BundleImportError(
                f"{spec.name}: {spec.handler} does not import from its bundle {self.path}: {ready['import_error']}"
            )
        self.sys_path: list[str] = ready["ready"]
        self._process.stdin.write(json.dumps({"code": setup_code}) + "\n")
        self._process.stdin.flush()

    def _drain(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._stderr.append(line)
            del self._stderr[:-200]

    def stderr(self, lines: int = 40) -> str:
        """The last ``lines`` lines the worker wrote to stderr (its logs and anything printed)."""
        return "".join(self._stderr[-lines:])

    def invoke(self, event: Any) -> Invocation:
        with self._lock:
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(event) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            raise AssertionError(f"{self.spec.name} died while invoked:\n{self.stderr()}")
        answer = json.loads(line)
        return Invocation(
            answer.get("result"),
            answer.get("errorType"),
            answer.get("errorMessage"),
            answer["calls"],
            answer.get("settings_read", []),
        )

    def close(self) -> None:
        if self._process.poll() is None:
            if self._process.stdin is not None:
                self._process.stdin.close()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()


@dataclass
class CallLog:
    """Every AWS call each function made, by function name."""

    calls: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, function: str, calls: Iterable[dict[str, Any]]) -> None:
        with self.lock:
            self.calls.setdefault(function, []).extend(calls)


# --- from a recorded call to the IAM actions and resources it needs -------------------------------
_IAM_PREFIX = {"monitoring": "cloudwatch"}  # signing name → IAM service prefix where they differ


def _table(name: str) -> str:
    return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"


def _function(name: str) -> str:
    return name if name.startswith("arn:") else f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def iam_requirements(call: Mapping[str, Any], *, domain_arn: str) -> list[tuple[str, str, dict[str, str]]]:
    """(IAM action, resource ARN, condition keys) that ``call`` needs (AWS's service authorization
    reference: e.g. a versioned GetObject is ``s3:GetObjectVersion``, HeadObject is ``s3:GetObject``,
    a transaction needs each item's own action)."""
    service, operation, params = call["service"], call["operation"], call["params"]
    if service == "opensearch":
        return [(f"es:ESHttp{operation.capitalize()}", domain_arn + params["path"], {})]
    prefix = _IAM_PREFIX.get(service, service)
    if service == "dynamodb":
        if operation == "TransactWriteItems":
            kinds = {
                "Put": "PutItem",
                "Update": "UpdateItem",
                "Delete": "DeleteItem",
                "ConditionCheck": "ConditionCheckItem",
            }
            return [
                (f"dynamodb:{kinds[kind]}", _table(item[kind]["TableName"]), {})
                for item in params["TransactItems"]
                for kind in item
            ]
        if operation == "TransactGetItems":
            return [("dynamodb:GetItem", _table(item["Get"]["TableName"]), {}) for item in params["TransactItems"]]
        if "RequestItems" in params:
            return [(f"dynamodb:{operation}", _table(t), {}) for t in params["RequestItems"]]
        table = _table(params["TableName"])
        if "IndexName" in params:
            table += f"/index/{params['IndexName']}"
        return [(f"dynamodb:{operation}", table, {})]
    if service == "s3":
        bucket = f"arn:aws:s3:::{params['Bucket']}"
        if operation in ("ListObjects", "ListObjectsV2"):
            return [("s3:ListBucket", bucket, {})]
        if operation == "ListObjectVersions":
            return [("s3:ListBucketVersions", bucket, {})]
        if operation == "DeleteObjects":
            return [
                ("s3:DeleteObjectVersion" if o.get("VersionId") else "s3:DeleteObject", f"{bucket}/{o['Key']}", {})
                for o in params["Delete"]
            ]
        if "Key" not in params:
            return [(f"s3:{operation}", bucket, {})]
        versioned = bool(params.get("VersionId"))
        action = {"HeadObject": "GetObject", "GetObject": "GetObject", "DeleteObject": "DeleteObject"}.get(
            operation, operation
        )
        if versioned and action in ("GetObject", "DeleteObject"):
            action += "Version"
        return [(f"s3:{action}", f"{bucket}/{params['Key']}", {})]
    if service == "lambda" and operation == "Invoke":
        return [("lambda:InvokeFunction", _function(params["FunctionName"]), {})]
    if service == "states":
        return [(f"states:{operation}", params.get("stateMachineArn") or params.get("executionArn") or "*", {})]
    if service == "secretsmanager":
        return [(f"secretsmanager:{operation}", params["SecretId"], {})]
    if service == "events" and operation == "PutEvents":
        return [
            ("events:PutEvents", f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{bus}", {})
            for bus in params["EventBusNames"]
        ]
    if service == "cloudfront":
        return [
            (f"cloudfront:{operation}", f"arn:aws:cloudfront::{ACCOUNT}:distribution/{params['DistributionId']}", {})
        ]
    if service == "sts" and operation == "GetCallerIdentity":
        return []  # needs no permission
    if prefix == "cloudwatch":
        conditions = {"cloudwatch:namespace": params["Namespace"]} if "Namespace" in params else {}
        return [(f"cloudwatch:{operation}", "*", conditions)]
    if service == "bedrock":
        return _bedrock_requirements(operation, params)
    return [(f"{prefix}:{operation}", "*", {})]


def _bedrock_requirements(operation: str, params: Mapping[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    """StartAsyncInvoke is authorized as InvokeModel on the model; through a cross-Region inference
    profile (``us.…``) the call needs the profile and the foundation model in whichever Region it
    lands (another one here); GetAsyncInvoke is authorized on this account's jobs, ListAsyncInvokes on "*" only."""
    if operation in ("InvokeModel", "StartAsyncInvoke"):
        model_id = params["modelId"]
        base = base_model_id(model_id)
        if base == model_id:
            return [("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}::foundation-model/{base}", {})]
        return [
            ("bedrock:InvokeModel", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:inference-profile/{model_id}", {}),
            ("bedrock:InvokeModel", f"arn:aws:bedrock:us-west-2::foundation-model/{base}", {}),
        ]
    if operation == "GetAsyncInvoke":
        return [("bedrock:GetAsyncInvoke", params["invocationArn"], {})]
    if operation == "ListAsyncInvokes":  # a List action without a resource type: "*" only
        return [("bedrock:ListAsyncInvokes", "*", {})]
    return [(f"bedrock:{operation}", f"arn:aws:bedrock:{REGION}:{ACCOUNT}:async-invoke/*", {})]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allowed(statements: Iterable[Mapping[str, Any]], action: str, resource: str, conditions: Mapping[str, str]) -> bool:
    """Whether an Allow statement (tokens already resolved) grants ``action`` on ``resource``."""
    for statement in statements:
        if statement.get("Effect") != "Allow":
            continue
        if not any(fnmatch.fnmatchcase(action, str(a)) for a in _as_list(statement["Action"])):
            continue
        if not any(fnmatch.fnmatchcase(resource, str(r)) for r in _as_list(statement["Resource"])):
            continue
        wanted = statement.get("Condition", {}).get("StringEquals", {})
        if all(conditions.get(key) == value for key, value in wanted.items()):
            return True
    return False


def worker_environment(template_env: Mapping[str, str], **extra: str) -> dict[str, str]:
    """A Lambda-like environment: the function's own variables, the test's AWS endpoint and keys."""
    env = {key: os.environ[key] for key in ("PATH", "LANG", "TZ", "TMPDIR") if key in os.environ}
    env.update(template_env)
    env.update(extra)
    return env


# --- each function's synthesized permissions ------------------------------------------------------
def _function_of_role(template: Mapping[str, Any]) -> dict[str, str]:
    """Role logical id → function name (without the ``milkmobs-`` prefix)."""
    return {
        p["Properties"]["Role"]["Fn::GetAtt"][0]: p["Properties"]["FunctionName"].removeprefix("milkmobs-")
        for p in template["Resources"].values()
        if p["Type"] == "AWS::Lambda::Function" and isinstance(p["Properties"].get("FunctionName"), str)
    }


def function_policies(template: Mapping[str, Any], refs: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """Each function's identity policy statements, tokens resolved (``refs``: logical id → value)."""
    role_of = _function_of_role(template)
    statements: dict[str, list[dict[str, Any]]] = {}
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        for role in resource["Properties"]["Roles"]:
            if role["Ref"] in role_of:
                statements.setdefault(role_of[role["Ref"]], []).extend(
                    resolve(resource["Properties"]["PolicyDocument"]["Statement"], refs)
                )
    return statements


def domain_policies(template: Mapping[str, Any], refs: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    """The OpenSearch domain's resource policy, by the function whose role each statement names."""
    role_of = _function_of_role(template)
    (domain,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::OpenSearchService::Domain"]
    found: dict[str, list[dict[str, Any]]] = {}
    for statement in domain["Properties"]["AccessPolicies"]["Statement"]:
        name = role_of[statement["Principal"]["AWS"]["Fn::GetAtt"][0]]
        found.setdefault(name, []).append(resolve({k: v for k, v in statement.items() if k != "Principal"}, refs))
    return found


def ungranted(
    calls: Mapping[str, Iterable[Mapping[str, Any]]],
    policies: Mapping[str, list[dict[str, Any]]],
    domain: Mapping[str, list[dict[str, Any]]],
    *,
    domain_arn: str,
) -> tuple[int, list[str]]:
    """(how many permissions the calls needed, each one the function's policies do not grant)."""
    missing: set[str] = set()
    seen = 0
    for name, made in calls.items():
        for call in made:
            for action, resource, conditions in iam_requirements(call, domain_arn=domain_arn):
                seen += 1
                if not allowed(policies.get(name, []), action, resource, conditions):
                    missing.add(f"{name}: {action} on {resource} {conditions or ''}")
                if action.startswith("es:") and not allowed(domain.get(name, []), action, resource, conditions):
                    missing.add(f"{name}: the OpenSearch domain policy refuses {action} on {resource}")
    return seen, sorted(missing)
