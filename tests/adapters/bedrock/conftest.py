"""The ``rig`` fixture: see bedrock_rig.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tests.adapters.bedrock.bedrock_rig import REGION, Rig, stubbed_rig


@pytest.fixture
def rig(monkeypatch: pytest.MonkeyPatch) -> Iterator[Rig]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    for rig in stubbed_rig():
        yield rig
        rig.stubber.assert_no_pending_responses()
