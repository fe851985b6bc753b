"""The report pages in Chromium (issue 18): every report of /staff/reports/ at 360 px and at
desktop width draws its ECharts charts (an SVG per chart, no script error, no CSP violation),
the page itself never scrolls sideways on the phone, and printing hides the header, the
report list and the filters.

Screenshots: tests/e2e/screenshots/report-*.png (and docs/screenshots/18/ when that directory
exists, for the issue's closing note).
"""

import shutil
from pathlib import Path

import pytest

from huzhu.reports.registry import REPORTS
from tests.reports.conftest import scheme, tree, users  # noqa: F401 (fixtures)

ISSUE_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "18"
WIDTHS = {"360": (360, 780), "desktop": (1280, 900)}

_MEASURE = """() => ({
  scroll: document.documentElement.scrollWidth,
  inner: window.innerWidth,
  charts: document.querySelectorAll('.report-charts .chart').length,
  drawn: [...document.querySelectorAll('.report-charts .chart')].filter(
    c => c.querySelector('svg, canvas') && c.getBoundingClientRect().height > 100).length,
  tables: document.querySelectorAll('table.report-table').length,
})"""


def _shot(page, screenshot_dir, name):
    shot = screenshot_dir / name
    page.screenshot(path=str(shot), full_page=True)
    if ISSUE_SHOTS.is_dir():
        shutil.copy(shot, ISSUE_SHOTS / name)


@pytest.mark.parametrize("width", list(WIDTHS))
def test_every_report_page_draws_its_charts(
    browser,
    live_server,
    transactional_db,
    users,  # noqa: F811 (the fixture imported above)
    scheme,  # noqa: F811
    screenshot_dir,
    width,  # noqa: F811
):
    w, h = WIDTHS[width]
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": w, "height": h}, locale="zh-CN"
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    problems: list[str] = []
    page.on(
        "console",
        lambda m: (
            problems.append(m.text)
            if (m.type == "error" and not m.text.startswith("Failed to load resource"))
            or "Content Security Policy" in m.text
            else None
        ),
    )
    # Failed loads are listed by address (the browser's own /favicon.ico request aside).
    page.on(
        "response",
        lambda r: (
            problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    page.on("pageerror", lambda e: problems.append(f"script error: {e}"))
    try:
        page.goto("/staff/login/")
        page.fill("input[name=username]", "adm")
        page.fill("input[name=password]", "pw-123456")
        page.click("button[type=submit]")
        page.wait_for_url("**/staff/")
        drawn_somewhere = 0
        for name in REPORTS:
            response = page.goto(f"/staff/reports/{name}/?year=2026")
            assert response.status == 200, (name, response.status)
            page.wait_for_load_state("networkidle")
            m = page.evaluate(_MEASURE)
            assert m["tables"] >= 1, (name, m)
            assert m["drawn"] == m["charts"], f"{name}: {m['drawn']} of {m['charts']} charts drawn"
            drawn_somewhere += m["drawn"]
            if w == 360:
                assert m["scroll"] <= m["inner"], f"{name}: page {m['scroll']}px wide"
            _shot(page, screenshot_dir, f"report-{name}-{width}.png")
        assert drawn_somewhere >= len(REPORTS)  # the reports do have charts to draw
        # A4 print: no site header, report list or filters; the tables stay.
        page.goto("/staff/reports/fund/?year=2026")
        page.wait_for_load_state("networkidle")
        page.emulate_media(media="print")
        assert not page.locator("#report-filters").is_visible()
        assert not page.locator("nav.report-list").is_visible()
        assert page.locator("table.report-table").first.is_visible()
        assert problems == []
    finally:
        context.close()
