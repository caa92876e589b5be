"""EventBridgeEventBus: batches of 10, partial failures retried, then a typed error (botocore Stubber)."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from milkmobs.adapters.aws.clients import client_config
from milkmobs.adapters.aws.eventbridge import EventBridgeEventBus
from milkmobs.domain import BackendUnavailableError, ConfigurationError, VideoAnalyzed, VideoStatus


def _events(n: int) -> list[VideoAnalyzed]:
    return [VideoAnalyzed(video_id=f"v{i:02d}", status=VideoStatus.VALIDATED, validation_score=0.8) for i in range(n)]


@pytest.fixture
def stubbed() -> Any:
    client = boto3.client("events", region_name="us-east-1", config=client_config())
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _ok(n: int) -> dict[str, Any]:
    return {"FailedEntryCount": 0, "Entries": [{"EventId": f"e{i}"} for i in range(n)]}


def test_publishes_in_batches_of_ten_with_the_wire_shape(stubbed: Any) -> None:
    client, stubber = stubbed
    sent: list[list[dict[str, Any]]] = []
    for size in (10, 10, 3):
        stubber.add_response("put_events", _ok(size), {"Entries": ANY})
    client.meta.events.register(
        "provide-client-params.events.PutEvents", lambda params, **_: sent.append(params["Entries"])
    )
    EventBridgeEventBus(client, "milk-mobs-bus").publish(_events(23))
    assert [len(batch) for batch in sent] == [10, 10, 3]
    first = sent[0][0]
    assert first["EventBusName"] == "milk-mobs-bus"
    assert first["Source"] == "milk-mobs.analysis" and first["DetailType"] == "VideoAnalyzed"
    assert json.loads(first["Detail"]) == {
        "videoId": "v00", "status": "validated", "participationScore": None, "validationScore": 0.8, "mobId": None,
    }  # fmt: skip
    assert [json.loads(e["Detail"])["videoId"] for batch in sent for e in batch] == [f"v{i:02d}" for i in range(23)]


def test_only_failed_entries_are_sent_again(stubbed: Any) -> None:
    client, stubber = stubbed
    sent: list[list[str]] = []
    client.meta.events.register(
        "provide-client-params.events.PutEvents",
        lambda params, **_: sent.append([json.loads(e["Detail"])["videoId"] for e in params["Entries"]]),
    )
    partial = {
        "FailedEntryCount": 2,
        "Entries": [
            {"EventId": "e0"},
            {"ErrorCode": "ThrottlingException", "ErrorMessage": "slow down"},
            {"EventId": "e2"},
            {"ErrorCode": "InternalFailure", "ErrorMessage": "oops"},
        ],
    }
    stubber.add_response("put_events", partial, {"Entries": ANY})
    stubber.add_response("put_events", _ok(2), {"Entries": ANY})
    sleeps: list[float] = []
    EventBridgeEventBus(client, "bus", sleep=sleeps.append).publish(_events(4))
    assert sent == [["v00", "v01", "v02", "v03"], ["v01", "v03"]]
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 2


def test_entries_failing_every_attempt_raise_naming_the_videos(stubbed: Any) -> None:
    client, stubber = stubbed
    failing = {"FailedEntryCount": 1, "Entries": [{"EventId": "e0"}, {"ErrorCode": "InternalFailure"}]}
    stubber.add_response("put_events", failing, {"Entries": ANY})
    for _ in range(2):
        stubber.add_response("put_events", {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "InternalFailure"}]},
                             {"Entries": ANY})  # fmt: skip
    bus = EventBridgeEventBus(client, "bus", max_attempts=3, sleep=lambda _: None)
    with pytest.raises(BackendUnavailableError, match="v01") as caught:
        bus.publish(_events(2))
    assert "InternalFailure" in caught.value.message and caught.value.video_id == "v01"


def test_client_errors_are_translated(stubbed: Any) -> None:
    client, stubber = stubbed
    stubber.add_client_error("put_events", "ResourceNotFoundException", "Event bus nope does not exist.")
    stubber.add_client_error("put_events", "ThrottlingException", "Rate exceeded", http_status_code=400)
    bus = EventBridgeEventBus(client, "nope")
    with pytest.raises(ConfigurationError, match="deploy the stack"):
        bus.publish(_events(1))
    with pytest.raises(BackendUnavailableError, match="throttling"):
        bus.publish(_events(1))


def test_nothing_to_publish_makes_no_call(stubbed: Any) -> None:
    client, _ = stubbed
    EventBridgeEventBus(client, "bus").publish([])  # the Stubber fails on any unexpected call
