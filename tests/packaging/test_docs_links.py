"""The README and the docs stand alone: every link is a web address or a file of this repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO

_INLINE = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")  # [text](target "title")
_REFERENCE = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)  # [label]: target
_BRACKETED_PATH = re.compile(r"\[(\.\./[^\]]+)\]")  # [../somewhere] written as if it were a link
DOCUMENTS = sorted([REPO / "README.md", *(REPO / "docs").rglob("*.md")])


def _targets(text: str) -> list[str]:
    return [*_INLINE.findall(text), *_REFERENCE.findall(text), *_BRACKETED_PATH.findall(text)]


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: str(p.relative_to(REPO)))
def test_links_stay_inside_the_repository(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    assert "../shared" not in text, f"{document.name} points outside the repository"
    for target in _targets(text):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # a web address, a mailto, or an anchor in the same page
        path = (document.parent / target.split("#", 1)[0]).resolve()
        assert path.is_relative_to(REPO), f"{document.name}: {target} is outside the repository"
        assert path.exists(), f"{document.name}: {target} does not exist"


def test_the_readme_says_what_the_reference_design_is() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert not re.search(r"\bthe seed\b", text, re.IGNORECASE), "say 'the reference design' (defined in the README)"
    assert "**reference design**" in text  # defined where it is first used


def test_the_link_finder_finds_links() -> None:
    sample = '[a](docs/x.md) [b](https://e.org "t") [../shared/z.md]\n[c]: ../shared/y.md'
    assert _targets(sample) == ["docs/x.md", "https://e.org", "../shared/y.md", "../shared/z.md"]
