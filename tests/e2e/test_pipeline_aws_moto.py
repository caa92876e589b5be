"""The whole pipeline on AWS adapters (moto): 20 videos from submit to feed.

Every adapter is the AWS one — DynamoDB stores, S3 media (uploads through the presigned POST),
EventBridge, CloudWatch, and the analysis state machine executed by moto's Step Functions
interpreter with its Lambda tasks running the core in process — except the analyzer (the fake,
reading the uploaded bytes from S3) and the vector index (in memory: moto has no OpenSearch).
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
import requests
from tests.adapters.aws.moto_support import REGION, aws_app_on_moto

from milkmobs.core.views import SubmitRequest
from milkmobs.domain import EVENT_BUS_NAME, EVENT_SOURCE, ExecutionStatus, VideoStatus

pytest.importorskip("moto")

VIDEOS = 20


def test_twenty_videos_run_from_submit_through_step_functions_to_the_feed() -> None:
    with aws_app_on_moto() as env:
        app, session = env.app, env.session
        # an EventBridge rule delivering the pipeline's events to a queue we can read
        sqs, events = session.client("sqs", region_name=REGION), session.client("events", region_name=REGION)
        queue = sqs.create_queue(QueueName="analysed")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="analysed", EventBusName=EVENT_BUS_NAME,
                        EventPattern=json.dumps({"source": [EVENT_SOURCE]}))  # fmt: skip
        events.put_targets(Rule="analysed", EventBusName=EVENT_BUS_NAME, Targets=[{"Id": "q", "Arn": arn}])

        submitted: list[str] = []
        for i in range(VIDEOS):
            on_theme = i % 4 != 3  # every fourth video is off-campaign
            body = (b"GOT MILK drinking milk " if on_theme else b"skateboarding in the park ") + bytes([i]) * 64
            submission = app.submit_video(
                SubmitRequest(
                    user_id=f"user{i % 3}",
                    title=f"clip {i}",
                    hashtags=["gotmilk", "milkmob"] if on_theme else ["skate"],
                    size_bytes=len(body),
                )
            )
            ticket = submission.upload
            # the browser's multipart form POST (moto answers S3's URL in process)
            response = requests.post(
                ticket.url, data=ticket.fields, files={"file": ("clip.mp4", body, "video/mp4")}, timeout=30
            )
            assert response.status_code in (200, 201, 204), response.text
            # what the S3 ObjectCreated notification does
            app.on_object_created(ticket.fields["key"], len(body))
            submitted.append(submission.video_id)

        for video_id in submitted:
            assert env.settle(app.workflow.execution_arn(video_id), timeout=120) == "SUCCEEDED"

        videos = app.ports.videos.get_many(submitted)
        statuses = Counter(v.status for v in videos)
        assert sum(statuses.values()) == VIDEOS
        assert set(statuses) <= {VideoStatus.VALIDATED, VideoStatus.REJECTED}
        validated = [v for v in videos if v.status is VideoStatus.VALIDATED]
        assert validated, "on-campaign videos pass"
        assert all(v.mob_id for v in validated) and not any(v.mob_id for v in videos if v not in validated)

        # the feed pages through exactly the validated videos, newest first
        seen, cursor = [], None
        while True:
            page = app.feed(limit=3, cursor=cursor)
            seen.extend(view.video_id for view in page.items)
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == [v.video_id for v in sorted(validated, key=lambda v: (v.created_at, v.video_id), reverse=True)]

        # mob counts equal their members; stats come from the counters
        members = Counter(v.mob_id for v in validated)
        assert {mob.mob_id: mob.video_count for mob in app.list_mobs()} == dict(members)
        stats = app.stats()
        assert stats.total_videos == VIDEOS
        assert stats.by_status == {s.value: n for s, n in statuses.items()}
        assert stats.active_mobs == len(members)

        # one VideoAnalyzed per video reached EventBridge's target
        received: list[dict[str, object]] = []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                received.append(json.loads(message["Body"])["detail"])
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
        assert sorted(str(d["videoId"]) for d in received) == sorted(submitted)
        assert {str(d["videoId"]): d["status"] for d in received} == {v.video_id: v.status.value for v in videos}

        # Bedrock-style usage reached CloudWatch: one describe and one embed per video
        usage = {row.model_type.value: row for row in app.usage("1h").models}
        assert usage["pegasus"].invocations == VIDEOS and usage["marengo"].invocations == VIDEOS

        # every execution is in the history, with its steps
        (record,) = app.execution_history(submitted[0])
        assert record.status is ExecutionStatus.SUCCEEDED
        assert [s.name for s in record.steps][:2] == ["MarkProcessing", "PegasusAnalysis"] or {
            "MarkProcessing", "PegasusAnalysis", "StartEmbedding", "WriteResults", "ValidateVideo",
        } <= {s.name for s in record.steps}  # fmt: skip

        # the admin delete removes the record, every media version and the thumbnail, and the mob count drops
        gone = validated[0]
        mob_before = next(m for m in app.list_mobs() if m.mob_id == gone.mob_id).video_count
        s3 = session.client("s3", region_name=REGION)
        bucket = env.settings.aws.media_bucket
        s3.put_object(Bucket=bucket, Key=gone.media_key, Body=b"a second version")
        app.delete_video(gone.video_id)
        listing = s3.list_object_versions(Bucket=bucket, Prefix=gone.media_key)
        assert not listing.get("Versions") and not listing.get("DeleteMarkers")
        if gone.thumbnail_key:
            assert not s3.list_object_versions(Bucket=bucket, Prefix=gone.thumbnail_key).get("Versions")
        mob_after = {m.mob_id: m.video_count for m in app.ports.mobs.list_all()}.get(gone.mob_id or "", 0)
        assert mob_after == mob_before - 1
        assert app.stats().total_videos == VIDEOS - 1
