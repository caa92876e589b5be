"""Consumer web app budgets in a real Chromium against ``milkmobs serve`` (not run by CI).

1. Seeds a local-backend data directory with N validated videos (default 1,000) through the stores.
2. Opens the feed R times, each in a fresh browser context (cold cache): the time until 20 cards are
   in the page (the page's own clock, from navigation start) — budget 1 s; and the JavaScript the
   first page transferred, uncompressed — budget 120 KB.
   Peer, same run: the same page's own ``fetch`` of ``/feed?limit=20`` (the API call the feed makes),
   so the ratio says what the page adds on top of the API answer.

    python benchmarks/web_pages.py [--videos 1000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.browser and tests.e2e helpers

from tests.browser.seed import seed_validated_videos  # noqa: E402
from tests.browser.support import CHROMIUM_ARGS, DESKTOP, PageWatch, chromium_path  # noqa: E402
from tests.browser.test_feed_at_scale import WATCH_CARDS  # noqa: E402
from tests.e2e._serve_process import serve  # noqa: E402

INTERACTIVE_BUDGET_MS = 1000.0
JS_BUDGET_BYTES = 120 * 1024
API_FETCH = """async () => { const t = performance.now(); const r = await fetch('/feed?limit=20');
  await r.json(); return performance.now() - t; }"""


def measure(url: str, runs: int) -> tuple[list[float], list[float], int]:
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    if executable is None:
        raise SystemExit("no chromium on PATH: apt-get install -y chromium")
    page_ms: list[float] = []
    api_ms: list[float] = []
    js_bytes = 0
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for run in range(runs + 1):  # the first run warms the server and the browser up; not counted
            context: Any = browser.new_context(viewport=DESKTOP)
            page = context.new_page()
            watch = PageWatch()
            watch.attach(page)
            page.add_init_script(WATCH_CARDS)
            page.goto(url)
            page.wait_for_function("() => window.__cardsAt !== undefined")
            if run:
                page_ms.append(float(page.evaluate("() => window.__cardsAt")))
                api_ms.append(float(page.evaluate(API_FETCH)))
            js_bytes = sum(watch.scripts.values())
            watch.assert_clean()
            context.close()
        browser.close()
    return page_ms, api_ms, js_bytes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="milkmobs-web-bench-") as folder:
        data = Path(folder) / "data"
        seconds = seed_validated_videos(data, args.videos)
        print(f"seeded {args.videos} validated videos in {seconds:.1f} s")
        with serve(data) as server:
            page_ms, api_ms, js_bytes = measure(server.url + "/", args.runs)
    page, api = statistics.median(page_ms), statistics.median(api_ms)
    js_ok = js_bytes <= JS_BUDGET_BYTES
    page_ok = page <= INTERACTIVE_BUDGET_MS
    print(
        f"JS transferred, first consumer page: {js_bytes / 1024:.1f} KB uncompressed "
        f"(budget {JS_BUDGET_BYTES / 1024:.0f} KB: {'within' if js_ok else 'OVER'})"
    )
    print(
        f"feed of 20 cards interactive, {args.videos} videos, median of {args.runs} cold loads: {page:.0f} ms "
        f"(min {min(page_ms):.0f}, max {max(page_ms):.0f}; budget {INTERACTIVE_BUDGET_MS:.0f} ms: "
        f"{'within' if page_ok else 'OVER'})"
    )
    print(f"peer: the page's own fetch of /feed?limit=20: median {api:.0f} ms; page / API = {page / api:.1f}x")
    return 0 if js_ok and page_ok else 1


if __name__ == "__main__":
    sys.exit(main())
