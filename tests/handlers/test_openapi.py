"""The committed OpenAPI document matches the routes, and covers the architecture's endpoint table."""

from __future__ import annotations

import json
from pathlib import Path

from milkmobs.api.openapi import generate, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"

#: The HTTP API table of ARCHITECTURE.md.
ENDPOINTS = {
    ("post", "/videos/submit"),
    ("get", "/videos/user"),
    ("get", "/videos/{videoId}"),
    ("get", "/videos/feed"),
    ("get", "/feed"),
    ("get", "/mobs"),
    ("get", "/mobs/{mobId}"),
    ("get", "/search/similar"),
    ("post", "/validate"),
    ("get", "/validate/{videoId}"),
    ("get", "/execution-history"),
    ("get", "/admin/videos"),
    ("delete", "/admin/videos/{videoId}"),
    ("get", "/admin/stats"),
    ("get", "/admin/usage-stats"),
    ("get", "/admin/mobs/map"),
    ("post", "/admin/recluster"),
}


def test_committed_document_matches_the_code() -> None:
    assert DOC.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run `python -m milkmobs.api.openapi docs/openapi.json` and commit it"
    )


def test_every_endpoint_is_documented_with_the_error_shape() -> None:
    document = generate()
    documented = {(method, path) for path, item in document["paths"].items() for method in item}
    assert documented >= ENDPOINTS
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            errors = {code: r for code, r in responses.items() if code.startswith(("4", "5"))}
            assert "422" in errors, (method, path)
            for answer in errors.values():
                assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
            if path.startswith("/admin/"):
                assert {"401", "403"} <= set(responses) and operation["security"] == [{"adminAuth": []}]


def test_answers_use_camel_case_and_hide_internals() -> None:
    schemas = generate()["components"]["schemas"]
    video = schemas["VideoView"]["properties"]
    assert {"videoId", "videoUrl", "thumbnailUrl", "mobName", "createdAt"} <= set(video)
    assert "embedding" not in video and "centroid" not in schemas["Mob"]["properties"]
    assert json.dumps(schemas).count("snake_case") == 0
