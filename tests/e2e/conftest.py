"""Shared browser fixtures for the end-to-end tests (Playwright driving Debian's Chromium).

Playwright cannot download its own browser on these machines (pitfalls.md): the tests use the
`chromium` on PATH. Without it they are skipped with the reason shown — unless
HUZHU_REQUIRE_BROWSER=1 (set by .ci/run), where a missing browser is a failure.
"""

import os
import shutil
from pathlib import Path

import pytest

SCREENSHOT_DIR = Path(__file__).resolve().parent / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def pytest_collection_modifyitems(config, items):
    here = Path(__file__).resolve().parent
    for item in items:
        if here in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def _chromium_or_skip() -> str:
    path = shutil.which("chromium")
    if path:
        return path
    reason = "Debian's chromium is not installed (apt-get install chromium); browser tests skipped"
    if os.environ.get("HUZHU_REQUIRE_BROWSER") == "1":
        pytest.fail(reason.replace("skipped", "required by HUZHU_REQUIRE_BROWSER=1"))
    pytest.skip(reason)


@pytest.fixture
def screenshot_dir() -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    return SCREENSHOT_DIR


@pytest.fixture
def browser_page(browser, live_server):
    """A fresh browser tab (phone-sized by default) with `base_url` set to the live server.

    Resize with `page.set_viewport_size(...)`. Yields (page, live_server_url).
    """
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 360, "height": 780}, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        yield page
    finally:
        context.close()
