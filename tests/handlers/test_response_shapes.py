"""Answers encoded in one pass from the route's model (``api/responses.py``) are the answers Powertools'
own validate-then-encode step gives, and each validates against the JSON schema of the model the
route declares (the response validation the server no longer repeats, kept here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.event_handler.middlewares.openapi_validation import OpenAPIResponseValidationMiddleware
from pydantic import BaseModel
from tests.handlers.conftest import ADMIN_TOKEN, MILK_BYTES, api_event

from milkmobs.adapters.memory import FixedClock
from milkmobs.api.app import create_api
from milkmobs.api.auth import BearerTokenAuthorizer
from milkmobs.api.responses import ModelResponseMiddleware
from milkmobs.bootstrap import build
from milkmobs.core.service import MilkMobs
from milkmobs.core.views import SubmitRequest, VideoView
from milkmobs.settings import Settings


@pytest.fixture
def app(settings: Settings) -> Iterator[MilkMobs]:
    """A memory application on a fixed clock: both encodings sign the same media URLs."""
    application = build(settings, clock=FixedClock(), retry_interval_scale=0, wait_scale=0)
    try:
        yield application
    finally:
        application.close()


def _api(app: MilkMobs, *, powertools_own: bool) -> APIGatewayRestResolver:
    api = create_api(lambda: app, authorizer=BearerTokenAuthorizer(ADMIN_TOKEN))
    assert isinstance(api._response_validation_middleware, ModelResponseMiddleware)  # type: ignore[attr-defined]
    if powertools_own:
        api._response_validation_middleware = OpenAPIResponseValidationMiddleware(  # type: ignore[attr-defined]
            has_response_validation_error=True
        )
    return api


def _seeded(app: MilkMobs) -> None:
    for i in range(4):
        tags = ["gotmilk", "milkmob"] if i % 2 == 0 else ["cats"]
        sub = app.submit_video(SubmitRequest(user_id=f"user{i % 2}", title=f"clip «{i}» ☕", hashtags=tags))
        app.upload_video(sub.video_id, MILK_BYTES + bytes([i]) * 32)


def _requests(app: MilkMobs) -> list[tuple[str, str, dict[str, str]]]:
    video_id = app.feed(limit=1).items[0].video_id
    mob_id = app.list_mobs()[0].mob_id
    return [
        ("GET", "/feed", {"limit": "2"}),
        ("GET", "/videos/feed", {"mobId": mob_id}),
        ("GET", "/mobs", {}),
        ("GET", f"/mobs/{mob_id}", {}),
        ("GET", f"/videos/{video_id}", {}),
        ("GET", "/videos/user", {"userId": "user0"}),
        ("GET", "/search/similar", {"videoId": video_id, "limit": "3"}),
        ("GET", "/search/text", {"q": "milk"}),
        ("GET", f"/validate/{video_id}", {}),
        ("GET", "/execution-history", {"videoId": video_id}),
        ("GET", "/admin/stats", {}),
        ("GET", "/admin/videos", {}),
        ("GET", "/feed", {"limit": "0"}),  # an error answer: not a model, Powertools' path
        ("GET", "/videos/nosuchvideo", {}),
    ]


def test_one_pass_encoding_gives_powertools_answers(app: MilkMobs) -> None:
    _seeded(app)
    fast, own = _api(app, powertools_own=False), _api(app, powertools_own=True)
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    for method, path, query in _requests(app):
        event = api_event(method, path, query=query or None, headers=admin if path.startswith("/admin") else None)
        ours, theirs = fast.resolve(event, None), own.resolve(event, None)
        assert ours["statusCode"] == theirs["statusCode"], path
        assert json.loads(ours["body"]) == json.loads(theirs["body"]), path
        assert ours["multiValueHeaders"] == theirs["multiValueHeaders"], path


def test_every_read_answer_validates_against_its_declared_model(app: MilkMobs) -> None:
    _seeded(app)
    api = _api(app, powertools_own=False)
    routes = api._static_routes + api._dynamic_routes  # the resolver's own order: static paths first
    checked = 0
    for method, path, query in _requests(app):
        headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if path.startswith("/admin") else None
        answer = api.resolve(api_event(method, path, query=query or None, headers=headers), None)
        if answer["statusCode"] != 200:
            continue
        route = next(r for r in routes if r.method == method and r.rule.match(path))
        model: Any = route.dependant.return_param.type_
        assert isinstance(model, type) and issubclass(model, BaseModel), path
        schema = model.model_json_schema(mode="serialization", by_alias=True)
        jsonschema.Draft202012Validator(schema).validate(json.loads(answer["body"]))  # raises naming the field
        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("with_urls", [True, False])
def test_a_view_built_without_validation_equals_a_validated_one(app: MilkMobs, with_urls: bool) -> None:
    _seeded(app)
    video = app.ports.videos.get(app.feed(limit=1).items[0].video_id)
    urls = {"video_url": "http://x/media/a?expires=1&signature=ab", "thumbnail_url": None} if with_urls else {}
    fields = {"video_url": None, "thumbnail_url": None, "mob_name": "Milk lovers", **urls}
    built = VideoView.of(video, **fields)
    validated = VideoView.model_validate({**video.model_dump(), **fields, "embedding": video.embedding})
    assert built == validated
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_fields_set == set(VideoView.model_fields)
