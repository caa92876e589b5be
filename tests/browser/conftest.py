"""Browser tests: Playwright for Python driving the system's Chromium against a real ``milkmobs serve``.

One browser per test session (per xdist worker), one server per module, a fresh browser context per
test. Without Chromium the tests skip locally; under ``CI=true`` a skipped browser test fails.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from tests.browser.support import CHROMIUM_ARGS, DESKTOP, PageWatch, check_page, chromium_path

ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if ON_CI and report.skipped and Path(str(item.path)).is_relative_to(Path(__file__).parent):
        report.outcome = "failed"
        report.longrepr = f"browser test skipped under CI=true (a skip is a failure here): {report.longrepr}"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium on PATH (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@dataclass
class Tab:
    """One page in a fresh context, with what it has seen since it opened."""

    page: Any
    watch: PageWatch
    base_url: str
    shots: Path

    def goto(self, route: str = "") -> Any:
        """Opens ``base_url`` + route (e.g. ``/#/mobs``) as a new page load."""
        self.page.goto(self.base_url + (route or "/"))
        return self.page

    def check(self, name: str) -> None:
        check_page(self.page, self.watch, name, self.shots)


@pytest.fixture
def open_tab(browser: Any, tmp_path: Path) -> Iterator[Any]:
    """``open_tab(base_url)`` → a Tab; screenshots go to the test's tmp dir (``screenshots/``)."""
    contexts: list[Any] = []

    def make(base_url: str) -> Tab:
        context = browser.new_context(viewport=DESKTOP)
        context.set_default_timeout(30_000)
        contexts.append(context)
        page = context.new_page()
        watch = PageWatch()
        watch.attach(page)
        return Tab(page=page, watch=watch, base_url=base_url.rstrip("/"), shots=tmp_path / "screenshots")

    yield make
    for context in contexts:
        context.close()
