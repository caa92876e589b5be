"""CloudWatchMetrics: PutMetricData shape, EMF lines, and read-back over 1h/24h/7d/30d on moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from milkmobs.adapters.aws.clients import AwsClients
from milkmobs.adapters.aws.cloudwatch import NAMESPACE, CloudWatchMetrics
from milkmobs.domain import InvalidInputError, ModelType, ModelUsage

PEGASUS = "twelvelabs.pegasus-1-2-v1:0"
MARENGO = "twelvelabs.marengo-embed-3-0-v1:0"
NOW = datetime.now(UTC).replace(second=0, microsecond=0)
RANGES = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7), "30d": timedelta(days=30)}


def _usage(model: str, kind: ModelType, ago: timedelta, **amounts: Any) -> ModelUsage:
    return ModelUsage(model_id=model, model_type=kind, at=NOW - ago, **amounts)


def test_put_metric_data_carries_names_units_dimensions_and_timestamps(aws: AwsClients) -> None:
    client = aws.cloudwatch()
    sent: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.cloudwatch.PutMetricData", lambda params, **_: sent.append(params)
    )
    at = NOW - timedelta(minutes=5)
    CloudWatchMetrics(client).record_usage(
        [ModelUsage(model_id=PEGASUS, model_type=ModelType.PEGASUS, input_tokens=10, output_tokens=3,
                    video_seconds=4.5, at=at)]
    )  # fmt: skip
    (call,) = sent
    assert call["Namespace"] == NAMESPACE == "MilkMobs/Bedrock"
    by_name = {datum["MetricName"]: datum for datum in call["MetricData"]}
    assert {name: (d["Value"], d["Unit"]) for name, d in by_name.items()} == {
        "BedrockInvocations": (1.0, "Count"),
        "BedrockInputTokens": (10.0, "Count"),
        "BedrockOutputTokens": (3.0, "Count"),
        "BedrockVideoSeconds": (4.5, "Seconds"),
    }
    for datum in by_name.values():
        assert datum["Timestamp"] == at
        assert datum["Dimensions"] == [{"Name": "ModelId", "Value": PEGASUS}, {"Name": "ModelType", "Value": "pegasus"}]


def test_emf_mode_writes_one_json_line_per_usage_and_calls_nothing(aws: AwsClients) -> None:
    client = aws.cloudwatch()
    calls: list[str] = []
    client.meta.events.register("before-call.cloudwatch", lambda model, **_: calls.append(model.name))
    lines: list[str] = []
    metrics = CloudWatchMetrics(client, emf=True, write=lines.append)
    metrics.record_usage([_usage(MARENGO, ModelType.MARENGO, timedelta(0), video_seconds=12.0)])
    assert calls == []
    (document,) = [json.loads(line) for line in lines]
    directive = document["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "MilkMobs/Bedrock"
    assert directive["Dimensions"] == [["ModelId", "ModelType"]]
    assert {m["Name"] for m in directive["Metrics"]} == {
        "BedrockInvocations", "BedrockInputTokens", "BedrockOutputTokens", "BedrockVideoSeconds",
    }  # fmt: skip
    assert document["_aws"]["Timestamp"] == int(NOW.timestamp() * 1000)
    assert document["ModelId"] == MARENGO and document["ModelType"] == "marengo"
    assert document["BedrockVideoSeconds"] == [12.0] and document["BedrockInvocations"] == [1.0]  # Powertools EMF


@pytest.mark.parametrize("range_name", list(RANGES))
def test_usage_reads_back_for_each_admin_range(aws: AwsClients, range_name: str) -> None:
    metrics = CloudWatchMetrics(aws.cloudwatch())
    # one record per range boundary: each range sees the ones younger than itself
    ages = {"30m": timedelta(minutes=30), "5h": timedelta(hours=5), "3d": timedelta(days=3), "20d": timedelta(days=20)}
    metrics.record_usage(
        [_usage(PEGASUS, ModelType.PEGASUS, age, input_tokens=100, output_tokens=10, video_seconds=2.0)
         for age in ages.values()]
        + [_usage(MARENGO, ModelType.MARENGO, timedelta(days=20), video_seconds=8.0)]
    )  # fmt: skip
    window = RANGES[range_name]
    rows = {row.model_id: row for row in metrics.usage_between(NOW - window, NOW + timedelta(minutes=1))}
    inside = sum(1 for age in ages.values() if age < window)
    assert rows[PEGASUS].invocations == inside
    assert rows[PEGASUS].input_tokens == 100 * inside and rows[PEGASUS].output_tokens == 10 * inside
    assert rows[PEGASUS].video_seconds == pytest.approx(2.0 * inside)
    if window > timedelta(days=20):
        assert rows[MARENGO].video_seconds == pytest.approx(8.0) and rows[MARENGO].model_type is ModelType.MARENGO
    else:
        assert MARENGO not in rows


def test_configured_models_are_queried_even_without_listed_metrics(aws: AwsClients) -> None:
    client = aws.cloudwatch()
    queried: list[str] = []

    def capture(params: dict[str, Any], **_: Any) -> None:
        for query in params["MetricDataQueries"]:
            dims = {d["Name"]: d["Value"] for d in query["MetricStat"]["Metric"]["Dimensions"]}
            queried.append(dims["ModelId"])

    client.meta.events.register("provide-client-params.cloudwatch.GetMetricData", capture)
    metrics = CloudWatchMetrics(client, known_models=[(PEGASUS, ModelType.PEGASUS)])
    assert metrics.usage_between(NOW - timedelta(days=30), NOW) == []  # no data: no rows
    assert set(queried) == {PEGASUS} and len(queried) == 4  # four metrics of the configured model


def test_a_point_recorded_earlier_in_the_end_s_own_second_is_inside_the_range(aws: AwsClients) -> None:
    # CloudWatch drops EndTime's fraction of a second; [start, end) must still hold at our precision.
    metrics = CloudWatchMetrics(aws.cloudwatch())
    at = NOW + timedelta(milliseconds=300)
    metrics.record_usage([ModelUsage(model_id=PEGASUS, model_type=ModelType.PEGASUS, at=at, video_seconds=3.0)])
    (row,) = metrics.usage_between(NOW - timedelta(hours=1), NOW + timedelta(milliseconds=700))
    assert row.invocations == 1 and row.video_seconds == pytest.approx(3.0)
    assert metrics.usage_between(NOW - timedelta(hours=1), NOW) == []  # still exclusive of the end


def test_buckets_ask_one_period_per_step_and_place_rounded_timestamps_in_the_nearest_bucket() -> None:
    # Past 15 days CloudWatch rounds StartTime down to 5 minutes: its periods start a little before ours.
    client = boto3.client("cloudwatch", region_name="us-east-1")
    start = NOW - timedelta(days=30) + timedelta(minutes=2)
    end, step = NOW + timedelta(minutes=2), timedelta(days=1)
    early = start - timedelta(minutes=2)
    answer = {
        "MetricDataResults": [
            {"Id": "m0_bedrockinvocations", "Timestamps": [early, early + 3 * step], "Values": [2.0, 5.0]},
            {"Id": "m0_bedrockvideoseconds", "Timestamps": [early + 29 * step], "Values": [7.5]},
        ]
    }
    with Stubber(client) as stubber:
        stubber.add_response("list_metrics", {"Metrics": []})
        stubber.add_response("get_metric_data", answer, {"MetricDataQueries": ANY, "StartTime": start,
                                                         "EndTime": end, "ScanBy": "TimestampAscending"})  # fmt: skip
        sent: list[dict[str, Any]] = []
        client.meta.events.register(
            "provide-client-params.cloudwatch.GetMetricData", lambda params, **_: sent.append(params)
        )
        metrics = CloudWatchMetrics(client, known_models=[(PEGASUS, ModelType.PEGASUS)])
        (row,) = metrics.usage_between(start, end, step=step)
    assert {q["MetricStat"]["Period"] for q in sent[0]["MetricDataQueries"]} == {86_400}
    assert len(row.buckets) == 30 and row.buckets[0].start == start
    assert [(i, b.invocations) for i, b in enumerate(row.buckets) if b.invocations] == [(0, 2), (3, 5)]
    assert row.buckets[29].video_seconds == pytest.approx(7.5) and row.invocations == 7


@pytest.mark.parametrize("step", [timedelta(seconds=30), timedelta(seconds=90)])
def test_a_step_that_is_not_whole_minutes_is_refused(aws: AwsClients, step: timedelta) -> None:
    metrics = CloudWatchMetrics(aws.cloudwatch(), known_models=[(PEGASUS, ModelType.PEGASUS)])
    with pytest.raises(InvalidInputError, match="whole minutes"):
        metrics.usage_between(NOW - timedelta(hours=1), NOW, step=step)
