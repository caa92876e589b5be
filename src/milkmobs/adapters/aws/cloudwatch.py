"""CloudWatch ``Metrics``: Bedrock usage in ``MilkMobs/Bedrock``, read back with GetMetricData.

Two ways to write, one way to read:

* ``PutMetricData`` (the default): one API call per 500 data points. Right for anything that is
  not a Lambda function (CLI, batch jobs, a container), where stdout goes nowhere useful.
* Embedded metric format (``emf=True``, serialized by Powertools Metrics): one JSON line on stdout
  per usage record, which the Lambda runtime ships to CloudWatch Logs and CloudWatch turns into the
  same metrics asynchronously — no API call, no added latency, no PutMetricData throttling, and no
  ``cloudwatch:PutMetricData`` permission. The factory picks it when running inside Lambda.

Both produce metrics ``BedrockInvocations``, ``BedrockInputTokens``, ``BedrockOutputTokens``
(Count) and ``BedrockVideoSeconds`` (Seconds) with dimensions ``ModelId`` and ``ModelType``.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from milkmobs.adapters.aws.errors import common_translation, transport_error
from milkmobs.domain import InvalidInputError, ModelType, ModelUsage, UsageBucket, UsageTotals
from milkmobs.domain.errors import MilkmobsError
from milkmobs.domain.usage import bucket_starts, new_usage_row

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_cloudwatch.type_defs import DimensionTypeDef, MetricDataQueryTypeDef, MetricDatumTypeDef

NAMESPACE = "MilkMobs/Bedrock"
INVOCATIONS = "BedrockInvocations"
INPUT_TOKENS = "BedrockInputTokens"
OUTPUT_TOKENS = "BedrockOutputTokens"
VIDEO_SECONDS = "BedrockVideoSeconds"
_UNITS = {INVOCATIONS: "Count", INPUT_TOKENS: "Count", OUTPUT_TOKENS: "Count", VIDEO_SECONDS: "Seconds"}
_FIELDS = {INVOCATIONS: "invocations", INPUT_TOKENS: "input_tokens", OUTPUT_TOKENS: "output_tokens",
           VIDEO_SECONDS: "video_seconds"}  # fmt: skip
_PUT_BATCH = 500  # well under PutMetricData's 1,000 data points / 1 MB per call
_QUERY_BATCH = 500  # GetMetricData accepts at most 500 queries per call


def _translate(exc: ClientError, *, doing: str) -> MilkmobsError:
    """The milkmobs error for a CloudWatch ClientError (all codes here are the shared ones)."""
    return common_translation(exc, doing=f"{doing} (namespace {NAMESPACE})")


def _values(usage: ModelUsage) -> dict[str, float]:
    return {
        INVOCATIONS: float(usage.invocations),
        INPUT_TOKENS: float(usage.input_tokens),
        OUTPUT_TOKENS: float(usage.output_tokens),
        VIDEO_SECONDS: float(usage.video_seconds),
    }


class CloudWatchMetrics:
    """Model usage as CloudWatch metrics (PutMetricData, or EMF lines from Lambda)."""

    def __init__(
        self,
        client: CloudWatchClient,
        *,
        emf: bool = False,
        known_models: Iterable[tuple[str, ModelType]] = (),
        write: Callable[[str], None] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self._client = client
        self._emf = emf
        # ListMetrics only sees metrics with data in the last two weeks; the configured models are
        # always queried, so a 30-day report still finds them.
        self._known = list(dict.fromkeys(known_models))
        self._write = write or _stdout_line
        self._now = now or (lambda: datetime.now(UTC))

    # ------------------------------------------------------------------ write

    def record_usage(self, usage: Sequence[ModelUsage]) -> None:
        """Record each usage entry, timestamped by ``usage.at`` (now when missing)."""
        if not usage:
            return
        if self._emf:
            for entry in usage:
                self._write(self._emf_line(entry))
            return
        data: list[MetricDatumTypeDef] = []
        for entry in usage:
            at = entry.at or self._now()
            dimensions: list[DimensionTypeDef] = [
                {"Name": "ModelId", "Value": entry.model_id},
                {"Name": "ModelType", "Value": entry.model_type.value},
            ]
            for name, value in _values(entry).items():
                data.append(
                    {"MetricName": name, "Dimensions": dimensions, "Timestamp": at, "Value": value,
                     "Unit": _UNITS[name]}  # type: ignore[typeddict-item]
                )  # fmt: skip
        for start in range(0, len(data), _PUT_BATCH):
            try:
                self._client.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + _PUT_BATCH])
            except ClientError as exc:
                raise _translate(exc, doing="recording Bedrock usage") from exc
            except BotoCoreError as exc:
                raise transport_error(exc, doing="recording Bedrock usage") from exc

    def _emf_line(self, usage: ModelUsage) -> str:
        """One usage record in the embedded metric format, serialized by Powertools Metrics."""
        from aws_lambda_powertools.metrics import EphemeralMetrics

        metrics = EphemeralMetrics(namespace=NAMESPACE)
        metrics.add_dimension(name="ModelId", value=usage.model_id)
        metrics.add_dimension(name="ModelType", value=usage.model_type.value)
        for name, value in _values(usage).items():
            metrics.add_metric(name=name, unit=_UNITS[name], value=value)
        metrics.set_timestamp(usage.at or self._now())
        return json.dumps(metrics.serialize_metric_set(), separators=(",", ":"))

    # ------------------------------------------------------------------- read

    def usage_between(self, start: datetime, end: datetime, *, step: timedelta | None = None) -> list[UsageTotals]:
        """Sum of each metric per model over ``[start, end)``: one period spanning the range, or with
        ``step`` (whole minutes, as GetMetricData periods are) one period per bucket."""
        models = self._models()
        if not models or end <= start:
            return []
        starts = bucket_starts(start, end, step) if step is not None else []
        # CloudWatch keeps whole seconds and drops the EndTime's fraction: a point recorded earlier in
        # the end's own second would fall out of [start, end). Ask up to the next whole second.
        if end.microsecond:
            end = end.replace(microsecond=0) + timedelta(seconds=1)
        if step is None:  # one period covering the whole range (a multiple of 60 s, as GetMetricData requires)
            period = max(60, math.ceil((end - start).total_seconds() / 60) * 60)
        elif step.total_seconds() % 60 or step < timedelta(minutes=1):
            raise InvalidInputError(f"a CloudWatch usage step must be whole minutes, got {step}", field="step")
        else:
            period = int(step.total_seconds())
        queries: list[MetricDataQueryTypeDef] = []
        for index, (model_id, model_type) in enumerate(models):
            for name in _UNITS:
                queries.append(
                    {
                        "Id": f"m{index}_{name.lower()}",
                        "MetricStat": {
                            "Metric": {
                                "Namespace": NAMESPACE,
                                "MetricName": name,
                                "Dimensions": [
                                    {"Name": "ModelId", "Value": model_id},
                                    {"Name": "ModelType", "Value": model_type.value},
                                ],
                            },
                            "Period": period,
                            "Stat": "Sum",
                        },
                        "ReturnData": True,
                    }
                )
        points = self._fetch(queries, start, end)
        totals: list[UsageTotals] = []
        for index, (model_id, model_type) in enumerate(models):
            found = {name: points.get(f"m{index}_{name.lower()}") for name in _UNITS}
            if all(series is None for series in found.values()):
                continue  # no data point in range: the model was not used
            row = new_usage_row(model_id, model_type, starts)
            for name, series in found.items():
                for at, value in series or []:
                    _add(row, name, value)
                    if step is not None:
                        # CloudWatch may round StartTime down (to the minute, or 5 minutes past 15 days):
                        # a period's timestamp belongs to the bucket it is nearest to.
                        nearest = round((at - start) / step)
                        _add(row.buckets[min(len(starts) - 1, max(0, nearest))], name, value)
            totals.append(row)
        return sorted(totals, key=lambda row: (row.model_id, row.model_type.value))

    def _fetch(
        self, queries: list[MetricDataQueryTypeDef], start: datetime, end: datetime
    ) -> dict[str, list[tuple[datetime, float]]]:
        """``{query id: [(period start, sum)]}``; ids without any data point are absent."""
        points: dict[str, list[tuple[datetime, float]]] = {}
        for first in range(0, len(queries), _QUERY_BATCH):
            request: dict[str, Any] = {
                "MetricDataQueries": queries[first : first + _QUERY_BATCH],
                "StartTime": start,
                "EndTime": end,
                "ScanBy": "TimestampAscending",
            }
            while True:
                try:
                    response = self._client.get_metric_data(**request)
                except ClientError as exc:
                    raise _translate(exc, doing="reading Bedrock usage") from exc
                except BotoCoreError as exc:
                    raise transport_error(exc, doing="reading Bedrock usage") from exc
                for result in response.get("MetricDataResults", []):
                    pairs = zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                    series = [(at, float(value)) for at, value in pairs]
                    if series:
                        points.setdefault(result["Id"], []).extend(series)
                token = response.get("NextToken")
                if not token:
                    break
                request["NextToken"] = token
        return points

    def _models(self) -> list[tuple[str, ModelType]]:
        """The (ModelId, ModelType) pairs that have metrics, plus the configured ones."""
        found: dict[tuple[str, ModelType], None] = dict.fromkeys(self._known)
        try:
            paginator = self._client.get_paginator("list_metrics")
            for page in paginator.paginate(Namespace=NAMESPACE, MetricName=INVOCATIONS):
                for metric in page.get("Metrics", []):
                    dims = {d["Name"]: d["Value"] for d in metric.get("Dimensions", [])}
                    model_id, model_type = dims.get("ModelId"), dims.get("ModelType")
                    if model_id and model_type in {t.value for t in ModelType}:
                        found[(model_id, ModelType(model_type))] = None
        except ClientError as exc:
            raise _translate(exc, doing="listing Bedrock usage metrics") from exc
        except BotoCoreError as exc:
            raise transport_error(exc, doing="listing Bedrock usage metrics") from exc
        return list(found)


def _add(target: UsageTotals | UsageBucket, metric: str, value: float) -> None:
    """Add one period's sum of ``metric`` to a row or a bucket (counts stay whole numbers)."""
    field = _FIELDS[metric]
    current = getattr(target, field)
    setattr(target, field, current + value if metric == VIDEO_SECONDS else current + round(value))


def _stdout_line(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
