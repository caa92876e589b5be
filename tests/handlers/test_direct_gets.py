"""A GET answered directly by the route table's functions (``api/direct.py``) is exactly the resolver's
answer to the same request, or not given at all: whatever the query, the route or the CORS setup."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from urllib.parse import quote

import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from milkmobs.adapters.memory import FixedClock
from milkmobs.adapters.memory.analyzer import FakeAnalyzer
from milkmobs.api.app import create_api
from milkmobs.api.auth import BearerTokenAuthorizer
from milkmobs.api.direct import DirectGets
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest
from milkmobs.server.events import from_response, to_event
from milkmobs.settings import Settings

Answer = tuple[int, list[tuple[str, str]], bytes]


class Answered(BaseModel):
    value: str


@pytest.fixture(scope="module")
def app() -> Iterator[MilkMobs]:
    """Twelve analysed videos in two mobs (the memory backend, pipeline inline)."""
    application = build(
        Settings(backend="memory"),
        clock=FixedClock(),  # signed URLs carry the time: both ways sign the same
        retry_interval_scale=0,
        wait_scale=0,
        media_processor=None,
        analyzer=lambda a: FakeAnalyzer(a.media, dimension=a.index.dimension),
    )
    for i in range(12):
        data = f"GOT MILK drinking milk {i}".encode() * 4
        tags = ["gotmilk", "skate"] if i % 2 else ["gotmilk", "cereal"]
        video = application.submit_video(
            SubmitRequest(user_id=f"user{i % 3}", title=f"clip {i}", hashtags=tags, size_bytes=len(data))
        )
        application.upload_video(video.video_id, data)
    try:
        yield application
    finally:
        application.close()


def _resolved(api: APIGatewayRestResolver, path: str, query: str, headers: Sequence[tuple[str, str]] = ()) -> Answer:
    return from_response(api.resolve(to_event("GET", path, query, headers, b""), None))  # type: ignore[arg-type]


def _requests(app: MilkMobs) -> list[tuple[str, str]]:
    videos = [v.video_id for v in app.feed(limit=12).items]
    mobs = [m.mob_id for m in app.list_mobs()]
    assert len(videos) == 12 and len(mobs) >= 2
    first = app.feed(limit=2)
    return [
        ("/feed", ""),
        ("/feed", "limit=3"),
        ("/feed", f"limit=2&cursor={quote(first.next_cursor or '')}"),
        ("/feed", "limit=5&mobId=" + mobs[0]),
        ("/videos/feed", "limit=4"),
        ("/mobs", ""),
        (f"/mobs/{mobs[1]}", "limit=20"),
        (f"/videos/{videos[3]}", ""),
        ("/videos/user", "userId=user1&limit=2"),
        ("/search/similar", f"videoId={videos[0]}&limit=10"),
        ("/search/similar", f"videoId={videos[5]}&limit=3&mobId={mobs[0]}"),
        (f"/validate/{videos[2]}", ""),
        # What the resolver refuses or treats its own way: the direct path must step aside.
        ("/feed", "limit=0"),
        ("/feed", "limit=abc"),
        ("/feed", "limit=3&limit=4"),
        ("/feed", "limit=%35"),
        ("/feed", "limit=+5"),
        ("/feed", "limit=5.0"),
        ("/feed", "limit="),
        ("/feed", "cursor="),
        ("/feed", "cursor=bm90LWEtY3Vyc29y"),
        ("/feed", "unknown=1&limit=2"),
        ("/feed/", "limit=2"),
        ("/videos/no-such-video", ""),
        ("/videos/bad id!", ""),
        ("/mobs/no-such-mob", ""),
        ("/search/similar", ""),
        ("/search/similar", "videoId=&limit=10"),
        ("/search/similar", f"videoId={videos[0]}&limit=101"),
        ("/admin/videos", ""),
        ("/admin/stats", ""),
        ("/openapi.json", ""),
        ("/nowhere", ""),
        # Paths near the routes' own: the route is found from the first segment, as the resolver finds it.
        ("/feed//", "limit=2"),
        ("//feed", ""),
        ("/", ""),
        ("", ""),
        ("/openapiXjson", ""),
        ("/videos", ""),
        ("/videos/user/", "userId=user1"),
        (f"/videos/{videos[3]}/", ""),
        (f"/videos/{videos[3]}/x", ""),
        (f"/Videos/{videos[3]}", ""),
        (f"/mobs/{mobs[1]}//", ""),
    ]


def test_a_direct_answer_is_the_resolvers_answer(app: MilkMobs) -> None:
    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer("token"))
    direct = DirectGets(api)
    answered = 0
    for path, query in _requests(app):
        mine = direct.answer(path, query, origin=False)
        theirs = _resolved(api, path, query)
        if mine is not None:
            answered += 1
            assert mine == theirs, (path, query)
        if theirs[0] != 200 or path.startswith("/admin/") or path == "/openapi.json":
            assert mine is None, (path, query)  # errors, guarded routes, non-model answers: the resolver's
    assert answered >= 12  # every read route of the table, clean requests all answered directly


def test_with_cors_a_request_with_an_origin_is_left_to_the_resolver(app: MilkMobs) -> None:
    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer("token"), cors_origins=["https://web.test"])
    direct = DirectGets(api)
    origin = [("Origin", "https://web.test")]
    assert direct.answer("/mobs", "", origin=True) is None
    assert "Access-Control-Allow-Origin" in dict(_resolved(api, "/mobs", "", origin)[1])
    assert direct.answer("/mobs", "", origin=False) == _resolved(api, "/mobs", "")


_QUERY_TEXT = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789=&%+-_. ,", max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(["/feed", "/mobs", "/videos/user", "/search/similar"]), query=_QUERY_TEXT)
def test_any_query_gets_the_resolvers_answer_or_none(app: MilkMobs, path: str, query: str) -> None:
    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer("token"))
    mine = DirectGets(api).answer(path, query, origin=False)
    if mine is not None:
        assert mine == _resolved(api, path, query)


_SEGMENT = st.sampled_from(
    [
        "feed",
        "videos",
        "mobs",
        "user",
        "search",
        "similar",
        "validate",
        "admin",
        "stats",
        "openapi.json",
        "",
        "x.y",
        "-",
    ]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(segments=st.lists(_SEGMENT, max_size=4), leading=st.booleans(), video=st.booleans())
def test_any_path_gets_the_resolvers_answer_or_none(
    app: MilkMobs, segments: list[str], leading: bool, video: bool
) -> None:
    if video:  # a real id somewhere in the path
        segments = [*segments, app.feed(limit=1).items[0].video_id]
    path = "/" * leading + "/".join(segments)
    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer("token"))
    mine = DirectGets(api).answer(path, "", origin=False)
    if mine is not None:
        assert mine == _resolved(api, path, ""), path


def test_a_route_that_reads_the_request_itself_is_left_to_the_resolver() -> None:
    """A direct call sets no current event: a route function reading one (even in a helper defined
    inside it) would see the previous request's, so such routes are always the resolver's."""
    api = APIGatewayRestResolver(enable_validation=True)

    @api.get("/whoami")
    def whoami() -> Answered:
        return Answered(value=api.current_event.path)

    @api.get("/nested")
    def nested() -> Answered:
        def read() -> str:
            return str(api.lambda_context)

        return Answered(value=read())

    @api.get("/plain")
    def plain() -> Answered:
        return Answered(value="plain")

    direct = DirectGets(api)
    assert _resolved(api, "/whoami", "")[0] == 200  # the resolver now holds a current event
    assert direct.answer("/whoami", "", origin=False) is None
    assert direct.answer("/nested", "", origin=False) is None
    answer = direct.answer("/plain", "", origin=False)
    assert answer is not None and answer[2] == b'{"value":"plain"}'
