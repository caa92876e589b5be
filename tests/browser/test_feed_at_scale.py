"""The feed on a server holding 1,000 validated videos: the first 20 cards, then more through the cursor.

Prints how long the first 20 cards took to be interactive (in the page's own clock, from navigation
start) and the JavaScript the page loaded; ``benchmarks/web_pages.py`` holds the timing budget.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.browser.seed import seed_validated_videos
from tests.e2e._serve_process import ServerProcess, serve

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser-feed-at-scale")]
VIDEOS = 1000
#: Records, in the page's clock, when the feed first holds 20 cards (set before any page script runs).
WATCH_CARDS = """
new MutationObserver((_, observer) => {
  if (document.querySelectorAll('.card').length >= 20 && window.__cardsAt === undefined) {
    window.__cardsAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {childList: true, subtree: true});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Any:
    data = tmp_path_factory.mktemp("data")
    seconds = seed_validated_videos(data, VIDEOS)
    print(f"\nseeded {VIDEOS} videos in {seconds:.1f} s")
    with serve(data) as running:
        yield running


def test_twenty_cards_then_more_through_the_cursor_and_on_scroll(server: ServerProcess, open_tab: Any) -> None:
    tab = open_tab(server.url)
    tab.page.add_init_script(WATCH_CARDS)
    page = tab.goto("/")
    page.wait_for_function("() => window.__cardsAt !== undefined")
    interactive_ms = page.evaluate("() => window.__cardsAt")
    titles = page.locator(".card .title").all_inner_texts()
    assert titles[:3] == [f"Clip {VIDEOS - 1}", f"Clip {VIDEOS - 2}", f"Clip {VIDEOS - 3}"]  # newest first
    assert len(titles) == 20
    scripts = sum(tab.watch.scripts.values())
    print(f"\nfeed with {VIDEOS} videos: 20 cards interactive at {interactive_ms:.0f} ms; JS {scripts / 1024:.1f} KB")
    tab.check("feed-1000")

    page.get_by_role("button", name="More").click()
    page.wait_for_function("() => document.querySelectorAll('.card').length >= 40")
    page.mouse.wheel(0, 100_000)  # infinite scroll: reaching the end loads the next page by itself
    page.wait_for_function("() => document.querySelectorAll('.card').length >= 60")
    titles = page.locator(".card .title").all_inner_texts()
    assert len(titles) == len(set(titles)) and titles[59] == f"Clip {VIDEOS - 60}"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.card img')].slice(0, 20).every(i => i.complete && i.naturalWidth > 0)"
    )
    tab.watch.assert_clean()
