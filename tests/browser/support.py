"""What every page of the web apps must hold, checked in a real Chromium.

``PageWatch`` records console errors, uncaught exceptions and failed requests from the moment a page
opens; ``check_page`` then asks axe-core for serious/critical violations (light and dark), checks
that nothing scrolls sideways at 390 × 844, and writes screenshots under the test's temp dir.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageWatch:
    """Problems seen on one page since it was opened."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    scripts: dict[str, int] = field(default_factory=dict)  # URL → uncompressed bytes

    def attach(self, page: Any) -> None:
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("requestfailed", self._request_failed)
        page.on("response", self._response)

    def _request_failed(self, request: Any) -> None:
        failure = request.failure or ""
        # Cancelled by the page itself (a player that has read enough, a fetch for a page left): not a failure.
        if "ERR_ABORTED" not in failure:
            self.failed_requests.append(f"{request.method} {request.url}: {failure}")

    def _response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed_requests.append(f"{response.request.method} {response.url}: HTTP {response.status}")
        elif response.request.resource_type == "script" and response.status == 200:
            self.scripts[response.url] = len(response.body())

    def assert_clean(self) -> None:
        problems = [
            *(f"console error: {e}" for e in self.console_errors),
            *(f"page error: {e}" for e in self.page_errors),
            *(f"failed request: {e}" for e in self.failed_requests),
        ]
        assert not problems, "\n".join(problems)


def serious_violations(page: Any) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol: the pages' CSP (rightly) refuses inline scripts.
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    found: list[dict[str, Any]] = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
            .filter(v => v.impact === 'serious' || v.impact === 'critical')
            .map(v => ({id: v.id, impact: v.impact, help: v.help,
                        targets: v.nodes.slice(0, 5).map(n => n.target.join(' '))}))"""
    )
    return [f"{v['impact']} {v['id']}: {v['help']} at {v['targets']}" for v in found]


def horizontal_overflow(page: Any) -> int:
    """How many CSS pixels the page scrolls sideways (0 when it fits)."""
    return int(
        page.evaluate(
            "() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"
            " - document.documentElement.clientWidth"
        )
    )


def check_page(page: Any, watch: PageWatch, name: str, shots: Path) -> None:
    """Every page: no console error, no failed request, no serious axe violation (light and dark),
    nothing scrolling sideways on a phone, screenshots written."""
    page.wait_for_load_state("load")
    shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        problems += [f"{scheme}: {v}" for v in serious_violations(page)]
    page.emulate_media(color_scheme="light")
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    desktop = page.viewport_size
    page.set_viewport_size(PHONE)
    page.wait_for_function("() => document.documentElement.clientWidth <= 390")
    overflow = horizontal_overflow(page)
    page.screenshot(path=str(shots / f"{name}-phone.png"), full_page=True)
    if desktop:
        page.set_viewport_size(desktop)
    assert not problems, f"{name}: axe-core found\n" + "\n".join(problems)
    assert overflow <= 0, f"{name}: at 390 × 844 the page scrolls {overflow}px sideways"
    watch.assert_clean()


def check_navigation(page: Any, labels: tuple[str, ...], current: str) -> None:
    """The header's navigation (shared by both apps) links every section once and marks only the
    section shown as the current page."""
    nav = page.get_by_role("navigation")
    for label in labels:
        assert nav.get_by_role("link", name=label, exact=True).count() == 1, label
    marked = nav.locator("a[aria-current='page']")
    shown = [marked.nth(i).inner_text() for i in range(marked.count())]
    assert shown == [current], shown


def check_not_found(page: Any, base_url: str, app_path: str, home: str) -> None:
    """A hash route no page serves says so and links back to the app's first page, with no section
    marked current."""
    page.goto(f"{base_url}{app_path}#/no-such-page")
    page.get_by_role("heading", name="Page not found").wait_for()
    assert page.get_by_text("Nothing lives at “#/no-such-page”").count() == 1
    assert page.get_by_role("link", name=f"Back to the {home}").get_attribute("href") == "#/"
    assert page.get_by_role("navigation").locator("a[aria-current='page']").count() == 0
