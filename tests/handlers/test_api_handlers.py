"""The API Lambdas answer real API Gateway REST proxy events through the one route table."""

from __future__ import annotations

from typing import Any

from tests.handlers.conftest import MILK_BYTES, admin_headers, api_event, body_of, s3_event

from milkmobs.core.service import MilkMobs
from milkmobs.lambdas import (
    admin_delete_video,
    admin_get_mob_map,
    admin_get_stats,
    admin_get_usage_stats,
    admin_list_videos,
    admin_recluster,
    create_upload,
    get_execution_history,
    get_feed,
    get_mob,
    get_video_detail,
    list_mobs,
    list_user_videos,
    search_similar,
    start_analysis,
    validate_video,
)


def _submit(context: Any, user: str = "u1", hashtags: list[str] | None = None) -> dict[str, Any]:
    event = api_event(
        "POST",
        "/videos/submit",
        body={
            "userId": user,
            "title": "my milk",
            "hashtags": hashtags or ["gotmilk", "milkmob"],
            "sizeBytes": len(MILK_BYTES) + 64,  # room for _upload's per-video suffix
        },
        resource="/videos/submit",
    )
    response = create_upload.handler(event, context)
    assert response["statusCode"] == 201, response["body"]
    return body_of(response)  # type: ignore[no-any-return]


def _upload(app: MilkMobs, context: Any, submission: dict[str, Any], data: bytes = MILK_BYTES) -> str:
    """What the browser and S3 do: post the form, then S3 notifies start-analysis. Each video is its
    own file (a user's second upload of the same bytes is refused as a duplicate)."""
    data += f" {submission['videoId']}".encode()
    key = app.ports.media.accept_upload(submission["upload"]["fields"], data)  # type: ignore[attr-defined]
    answer = start_analysis.handler(s3_event(key, sizes={key: len(data)}), context)
    assert answer["started"] == [submission["videoId"]]
    return str(key)


def test_submit_answers_the_documented_shape(app: MilkMobs, context: Any) -> None:
    body = _submit(context)
    assert set(body) == {"videoId", "video", "upload"}
    assert body["video"]["status"] == "pending_upload"
    assert body["video"]["hashtags"] == ["gotmilk", "milkmob"]
    assert set(body["upload"]) == {"url", "fields", "method", "expiresAt"}
    assert body["upload"]["fields"]["key"] == f"vid_{body['videoId']}.mp4"
    assert "embedding" not in body["video"]


def test_a_video_goes_through_the_pipeline_and_shows_up_everywhere(app: MilkMobs, context: Any) -> None:
    first, second = _submit(context), _submit(context)
    for submission in (first, second):
        _upload(app, context, submission)
    video_id = first["videoId"]

    detail = get_video_detail.handler(
        api_event("GET", f"/videos/{video_id}", resource="/videos/{videoId}", path_parameters={"videoId": video_id}),
        context,
    )
    video = body_of(detail)
    assert detail["statusCode"] == 200 and video["status"] == "validated", video
    assert video["validation"]["passed"] is True and video["mobId"] and video["videoUrl"]

    feed = body_of(get_feed.handler(api_event("GET", "/feed", query={"limit": "1"}), context))
    assert len(feed["videos"]) == 1 and feed["nextCursor"]
    rest = body_of(get_feed.handler(api_event("GET", "/videos/feed", query={"cursor": feed["nextCursor"]}), context))
    assert {v["videoId"] for v in feed["videos"] + rest["videos"]} == {first["videoId"], second["videoId"]}
    assert rest["nextCursor"] is None and all(v["mobName"] for v in rest["videos"])

    mine = body_of(list_user_videos.handler(api_event("GET", "/videos/user", query={"userId": "u1"}), context))
    assert len(mine["videos"]) == 2

    mobs = body_of(list_mobs.handler(api_event("GET", "/mobs"), context))["mobs"]
    assert mobs and mobs[0]["videoCount"] == 2 and "centroid" not in mobs[0]
    mob = body_of(get_mob.handler(api_event("GET", f"/mobs/{mobs[0]['mobId']}", resource="/mobs/{mobId}"), context))
    assert mob["mob"]["mobId"] == mobs[0]["mobId"] and len(mob["videos"]) == 2

    similar = body_of(search_similar.handler(api_event("GET", "/search/similar", query={"videoId": video_id}), context))
    assert similar["videoId"] == video_id
    assert [r["video"]["videoId"] for r in similar["results"]] == [second["videoId"]]
    assert -1.0 <= similar["results"][0]["score"] <= 1.0

    history = body_of(
        get_execution_history.handler(api_event("GET", "/execution-history", query={"videoId": video_id}), context)
    )
    assert history["videoId"] == video_id and history["executions"][0]["status"] == "SUCCEEDED"
    assert "MarkProcessing" in [s["name"] for s in history["executions"][0]["steps"]]

    validation = body_of(
        validate_video.handler(api_event("GET", f"/validate/{video_id}", resource="/validate/{videoId}"), context)
    )
    assert set(validation) >= {"videoId", "score", "passed", "breakdown", "reasons"}
    rerun = validate_video.handler(api_event("POST", "/validate", body={"videoId": video_id}), context)
    assert rerun["statusCode"] == 200 and body_of(rerun)["score"] == validation["score"]


def test_admin_routes_need_the_token(app: MilkMobs, context: Any) -> None:
    anonymous = admin_list_videos.handler(api_event("GET", "/admin/videos"), context)
    assert anonymous["statusCode"] == 401 and body_of(anonymous)["error"]["code"] == "unauthorized"
    wrong = admin_get_stats.handler(api_event("GET", "/admin/stats", headers=admin_headers("nope")), context)
    assert wrong["statusCode"] == 403 and body_of(wrong)["error"]["code"] == "forbidden"
    not_bearer = admin_get_stats.handler(
        api_event("GET", "/admin/stats", headers={"Authorization": "Basic eDp5"}), context
    )
    assert not_bearer["statusCode"] == 401
    bad_query = admin_list_videos.handler(api_event("GET", "/admin/videos", query={"limit": "-1"}), context)
    assert bad_query["statusCode"] == 401  # credentials are checked before the query is judged
    bad_query = admin_list_videos.handler(
        api_event("GET", "/admin/videos", query={"limit": "-1"}, headers=admin_headers()), context
    )
    assert bad_query["statusCode"] == 422
    ok = admin_get_stats.handler(api_event("GET", "/admin/stats", headers=admin_headers()), context)
    assert ok["statusCode"] == 200 and body_of(ok)["totalVideos"] == 0


def test_admin_lists_deletes_and_reports(app: MilkMobs, context: Any) -> None:
    kept, doomed = _submit(context), _submit(context)
    _upload(app, context, kept)
    key = _upload(app, context, doomed)
    pending = _submit(context, user="u2")

    listing = body_of(
        admin_list_videos.handler(
            api_event("GET", "/admin/videos", query={"status": "pending_upload"}, headers=admin_headers()), context
        )
    )
    assert [v["videoId"] for v in listing["videos"]] == [pending["videoId"]]

    video_id = doomed["videoId"]
    gone = admin_delete_video.handler(
        api_event("DELETE", f"/admin/videos/{video_id}", resource="/admin/videos/{videoId}", headers=admin_headers()),
        context,
    )
    assert gone["statusCode"] == 200 and body_of(gone)["videoId"] == video_id
    assert not app.ports.media.exists(key) and app.ports.index.get_vector(video_id) is None
    again = get_video_detail.handler(api_event("GET", f"/videos/{video_id}"), context)
    assert again["statusCode"] == 404 and video_id in body_of(again)["error"]["message"]
    mobs = body_of(list_mobs.handler(api_event("GET", "/mobs"), context))["mobs"]
    assert sum(m["videoCount"] for m in mobs) == 1

    stats = body_of(admin_get_stats.handler(api_event("GET", "/admin/stats", headers=admin_headers()), context))
    assert stats["totalVideos"] == 2 and stats["byStatus"].get("validated") == 1 and stats["activeMobs"] >= 1
    usage = body_of(
        admin_get_usage_stats.handler(
            api_event("GET", "/admin/usage-stats", query={"range": "7d"}, headers=admin_headers()), context
        )
    )
    assert usage["range"] == "7d" and {m["modelType"] for m in usage["models"]} == {"pegasus", "marengo"}
    assert all(m["invocations"] >= 2 for m in usage["models"])


def test_admin_usage_buckets_stats_and_the_mobs_map(app: MilkMobs, context: Any) -> None:
    first, second = _submit(context, hashtags=["gotmilk", "skate"]), _submit(context, hashtags=["gotmilk", "skate"])
    _upload(app, context, first)
    _upload(app, context, second)

    usage = body_of(
        admin_get_usage_stats.handler(
            api_event("GET", "/admin/usage-stats", query={"range": "1h"}, headers=admin_headers()), context
        )
    )
    assert usage["bucketSeconds"] == 300
    for model in usage["models"]:
        assert len(model["buckets"]) == 12
        assert set(model["buckets"][0]) >= {"start", "invocations", "videoSeconds", "estimatedCostUsd"}
        assert sum(b["invocations"] for b in model["buckets"]) == model["invocations"] == 2
        # The fake analyzer's models have no price: null, not a cost of 0
        assert model["estimatedCostUsd"] is None and all(b["estimatedCostUsd"] is None for b in model["buckets"])
    assert usage["models"] and usage["totalEstimatedCostUsd"] is None

    stats = body_of(admin_get_stats.handler(api_event("GET", "/admin/stats", headers=admin_headers()), context))
    assert stats["videosLastHour"] == 2 and stats["videosLastHourCapped"] is False

    def map_of(query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
        headers = admin_headers() if headers is None else headers
        return admin_get_mob_map.handler(api_event("GET", "/admin/mobs/map", query=query, headers=headers), context)

    answer = map_of()
    assert answer["statusCode"] == 200, answer["body"]
    drawn = body_of(answer)
    assert drawn["sampled"] == drawn["validatedTotal"] == 2 and len(drawn["explainedVariance"]) == 2
    assert {p["videoId"] for p in drawn["points"]} == {first["videoId"], second["videoId"]}
    assert all(set(p) == {"videoId", "mobId", "title", "x", "y"} and p["mobId"] for p in drawn["points"])
    assert [p["videoId"] for p in body_of(map_of({"limit": "1"}))["points"]] == [second["videoId"]]
    assert map_of({"limit": "0"})["statusCode"] == 422
    assert map_of(headers={})["statusCode"] == 401


def test_bad_input_is_a_4xx_in_the_error_shape_without_echo(app: MilkMobs, context: Any) -> None:
    secret = "x" * 300 + "SECRET-VALUE"
    missing = create_upload.handler(api_event("POST", "/videos/submit", body={"title": secret}), context)
    assert missing["statusCode"] == 422
    error = body_of(missing)["error"]
    assert error["code"] == "validation_error" and error["fields"][0]["loc"] == ["body", "userId"]
    assert "SECRET-VALUE" not in missing["body"]

    not_json = create_upload.handler(api_event("POST", "/videos/submit", body="{not json"), context)
    assert not_json["statusCode"] in (400, 422) and "error" in body_of(not_json)

    too_big = create_upload.handler(
        api_event("POST", "/videos/submit", body={"userId": "u1", "sizeBytes": 10**12}), context
    )
    assert too_big["statusCode"] == 413 and body_of(too_big)["error"]["code"] == "payload_too_large"

    wrong_type = create_upload.handler(
        api_event("POST", "/videos/submit", body={"userId": "u1", "contentType": "image/gif"}), context
    )
    assert wrong_type["statusCode"] == 400 and body_of(wrong_type)["error"]["code"] == "invalid_input"

    forged = get_feed.handler(api_event("GET", "/feed", query={"cursor": "not-a-real-cursor"}), context)
    assert forged["statusCode"] == 400 and body_of(forged)["error"]["field"] == "cursor"

    limit = get_feed.handler(api_event("GET", "/feed", query={"limit": "0"}), context)
    assert limit["statusCode"] == 422

    bad_range = admin_get_usage_stats.handler(
        api_event("GET", "/admin/usage-stats", query={"range": "2y"}, headers=admin_headers()), context
    )
    assert bad_range["statusCode"] == 422

    unknown = search_similar.handler(api_event("GET", "/search/similar", query={"videoId": "nope"}), context)
    assert unknown["statusCode"] == 404 and body_of(unknown)["error"]["code"] == "not_found"

    no_route = get_feed.handler(api_event("GET", "/nothing/here"), context)
    assert no_route["statusCode"] == 404 and "/nothing/here" in body_of(no_route)["error"]["message"]


def test_wrong_state_is_a_409(app: MilkMobs, context: Any) -> None:
    pending = _submit(context)
    answer = validate_video.handler(api_event("POST", "/validate", body={"videoId": pending["videoId"]}), context)
    assert answer["statusCode"] == 409, answer["body"]
    assert body_of(answer)["error"]["code"] == "conflict"


def test_openapi_is_served(app: MilkMobs, context: Any) -> None:
    answer = get_feed.handler(api_event("GET", "/openapi.json"), context)
    assert answer["statusCode"] == 200
    assert "/videos/submit" in body_of(answer)["paths"]


def test_wrong_method_media_type_and_body_are_4xx(app: MilkMobs, context: Any) -> None:
    wrong_method = get_feed.handler(api_event("DELETE", "/feed"), context)
    assert wrong_method["statusCode"] == 405
    assert wrong_method["multiValueHeaders"]["Allow"] == ["GET"]
    submit_get = get_feed.handler(api_event("PUT", "/videos/submit"), context)
    assert submit_get["statusCode"] == 405 and submit_get["multiValueHeaders"]["Allow"] == ["POST"]

    as_text = api_event("POST", "/validate", body='{"videoId": "x"}', headers={"Content-Type": "text/plain"})
    assert validate_video.handler(as_text, context)["statusCode"] == 415
    multipart = api_event("POST", "/videos/submit", body="x", headers={"Content-Type": "multipart/form-data"})
    assert create_upload.handler(multipart, context)["statusCode"] == 415
    binary = api_event("POST", "/videos/submit", body="/+3/", headers={"Content-Type": "application/json"})
    binary["isBase64Encoded"] = True  # bytes ff ed ff: not UTF-8
    answer = create_upload.handler(binary, context)
    assert answer["statusCode"] == 400 and body_of(answer)["error"]["field"] == "body"

    weird_id = get_video_detail.handler(api_event("GET", "/videos/a;b"), context)
    assert weird_id["statusCode"] == 422


def test_cors_only_for_configured_origins(app: MilkMobs, context: Any) -> None:
    from milkmobs.api.app import create_api
    from milkmobs.api.auth import BearerTokenAuthorizer

    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer(None), cors_origins=["http://localhost:3000"])
    preflight = api.resolve(
        api_event(
            "OPTIONS", "/feed", headers={"Origin": "http://localhost:3000", "Access-Control-Request-Method": "GET"}
        ),
        context,
    )
    assert preflight["statusCode"] == 204
    assert preflight["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["http://localhost:3000"]
    allowed = api.resolve(api_event("GET", "/feed", headers={"Origin": "http://localhost:3000"}), context)
    assert allowed["multiValueHeaders"]["Access-Control-Allow-Origin"] == ["http://localhost:3000"]
    other = api.resolve(api_event("GET", "/feed", headers={"Origin": "http://evil.example"}), context)
    assert "Access-Control-Allow-Origin" not in other["multiValueHeaders"]
    default = get_feed.handler(api_event("GET", "/feed", headers={"Origin": "http://localhost:3000"}), context)
    assert "Access-Control-Allow-Origin" not in default["multiValueHeaders"]  # none configured: none sent


def test_admin_recluster_runs_the_batch_over_http(app: MilkMobs, context: Any) -> None:
    anonymous = admin_recluster.handler(api_event("POST", "/admin/recluster"), context)
    assert anonymous["statusCode"] == 401 and body_of(anonymous)["error"]["code"] == "unauthorized"
    for user in ("u1", "u2", "u3"):
        _upload(app, context, _submit(context, user=user))
    placed = {v.video_id: v.mob_id for v in app.admin_list_videos(limit=10).items}
    answer = admin_recluster.handler(api_event("POST", "/admin/recluster", headers=admin_headers()), context)
    assert answer["statusCode"] == 200, answer["body"]
    report = body_of(answer)
    assert report["videos"] == 3 and report["mobs"] >= 1
    mobs = {m.mob_id: m for m in app.list_mobs()}
    assert sorted(report["keptMobIds"] + report["newMobIds"]) == sorted(mobs)
    after = {v.video_id: v.mob_id for v in app.admin_list_videos(limit=10).items}
    assert set(after) == set(placed) and all(mob_id in mobs for mob_id in after.values())
    assert sum(m.video_count for m in mobs.values()) == 3  # counts follow the members
