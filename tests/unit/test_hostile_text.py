"""Control and bidi characters never get into a record, and the CLI never prints them raw."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rich.console import Console
from tests.unit.core_support import make_app, snapshot

from milkmobs.cli import render
from milkmobs.core.views import SubmitRequest, VideoView
from milkmobs.domain import InvalidInputError, Video, normalize_hashtags
from milkmobs.domain.text import UNSAFE_CHARACTERS, checked_text, visible_controls

UNSAFE = [chr(c) for c in (*range(0x00, 0x20), *range(0x7F, 0xA0))] + [
    "\u061c", "\u200e", "\u200f", "\u202a", "\u202b", "\u202c", "\u202d", "\u202e",
    "\u2066", "\u2067", "\u2068", "\u2069", "\ufeff",
]  # fmt: skip
unsafe_chars = st.sampled_from(UNSAFE)
safe_text = st.text(max_size=20).filter(lambda text: UNSAFE_CHARACTERS.search(text) is None)


def test_the_unsafe_set_is_exactly_the_c0_c1_and_bidi_controls() -> None:
    assert {chr(c) for c in range(0x110000) if UNSAFE_CHARACTERS.fullmatch(chr(c))} == set(UNSAFE)


@given(safe_text, unsafe_chars, st.text(max_size=20))
def test_any_text_with_a_control_character_is_refused_naming_the_field(before: str, bad: str, after: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        checked_text(before + bad + after, field="title")
    assert refused.value.field == "title" and f"U+{ord(bad):04X}" in refused.value.message
    assert UNSAFE_CHARACTERS.search(refused.value.message) is None  # named, never echoed


@pytest.mark.parametrize("field", ["user_id", "title", "description"])
@pytest.mark.parametrize("bad", ["\x00", "\x1b[2J", "\x9b31m", "\u202eevil", "a\nb", "\t"])
def test_submit_refuses_control_characters_in_every_text_field_and_stores_nothing(field: str, bad: str) -> None:
    with make_app() as app:
        before = snapshot(app)
        values = {"user_id": "u1", field: f"x{bad}y"}
        with pytest.raises(InvalidInputError) as refused:
            app.submit_video(SubmitRequest(**values))
        assert refused.value.field == {"user_id": "userId"}.get(field, field)
        assert snapshot(app) == before


HOSTILE_TAGS = ["got milk", "got-milk", "milk\x1b[2J", "\u202emilk", "milk!", "mi\u0000lk", "#", "a.b"]


@pytest.mark.parametrize("tag", HOSTILE_TAGS)
def test_hashtags_follow_one_strict_pattern(tag: str) -> None:
    if tag == "#":
        assert normalize_hashtags([tag]) == []  # nothing left after the '#': dropped
        return
    with pytest.raises(InvalidInputError) as refused:
        normalize_hashtags([tag])
    assert refused.value.field == "hashtags"


def test_hashtags_of_any_script_pass() -> None:
    tags = ["#GotMilk", "leche_fría", "牛奶", "молоко2"]
    assert normalize_hashtags(tags) == ["gotmilk", "leche_fría", "牛奶", "молоко2"]


def test_the_video_model_refuses_them_too() -> None:
    with make_app() as app:
        video = app.ports.videos.get(app.submit_video(SubmitRequest(user_id="u1", title="ok")).video_id)
    with pytest.raises(ValueError, match="U\\+001B"):
        Video.model_validate({**video.model_dump(), "title": "\x1b[2J"})


def test_the_cli_shows_stored_control_characters_as_visible_escapes() -> None:
    with make_app() as app:
        video = app.get_video(app.submit_video(SubmitRequest(user_id="u1")).video_id)
    # A record written before the checks existed (or by another writer): built without validation.
    hostile = VideoView.model_construct(
        **{**dict(video), "title": "\x1b[2J\x1b]0;owned\x07[bold]x[/bold]\u202eevil", "hashtags": ["\x1bmilk"]}
    )
    out = io.StringIO()
    console = render.SafeConsole(file=out, color_system=None, width=200)
    console.print(render.video_table([hostile]))
    render.show_video(console, hostile, [])
    console.print(f"deleted {hostile.title}")
    text = out.getvalue()
    assert not any(ch in text for ch in UNSAFE if ch != "\n"), repr(text)
    assert "\\u001b[2J" in text and "\\u202eevil" in text and "[bold]x[/bold]" in text
    plain = io.StringIO()
    Console(file=plain, color_system=None).print(visible_controls("\x1b[2J"), markup=False)
    assert plain.getvalue() == "\\u001b[2J\n"
