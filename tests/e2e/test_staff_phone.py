"""Every staff page is usable on a 360 px phone (Chromium): the page itself never scrolls
sideways (wide tables scroll inside themselves with the first column held, or become cards),
names do not wrap one character per line, and the header spans the page.

Screenshots: tests/e2e/screenshots/staff-360-*.png (and /work/screenshots/17/ when that
directory exists, for the issue's closing note).
"""

import datetime as dt
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

from huzhu.organizations.models import Role
from huzhu.payments import bankfile
from huzhu.payments.selectors import QueueFilters
from huzhu.payments.services import (
    batch_bank_rows,
    payment_batch_create,
    payment_batch_export,
    payment_batch_import_return,
    payment_batch_mark_sent,
)
from huzhu.plans.services import plan_load
from huzhu.settlements.services import settlement_import_file
from tests.factories import ClaimFactory, UserFactory
from tests.member_pages.conftest import PLAN_2026
from tests.payments.conftest import approved_claim, build_world, enrolled_member
from tests.settlements.conftest import HEADER, row

ISSUE_SHOTS = Path("/work/screenshots/17")

# Page checks run in the browser: the widest thing on the page, the header's width, and
# table cells narrower than two characters holding more than one (a name wrapped per char).
_MEASURE = """() => {
  const doc = document.documentElement;
  const header = document.querySelector('header');
  const squeezed = [...document.querySelectorAll('main td, main th')].filter(
    c => c.offsetParent !== null && c.innerText.trim().length > 1
      && c.getBoundingClientRect().width < 24).length;
  return {scroll: doc.scrollWidth, inner: window.innerWidth,
          header: header ? header.getBoundingClientRect().width : 0, squeezed};
}"""


@pytest.fixture
def staff_world(transactional_db, tmp_path, settings):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "documents"
    plan_load(source_text=PLAN_2026, source_name="plan-2026.yaml")
    w = build_world()
    w.reviewer = UserFactory(username="phone_rev", role=Role.FEDERATION_REVIEWER, union=w.fed)
    names = ["欧阳明轩", "司马晓燕", "张伟", "李秀英", "诸葛建国", "王芳芳"]
    members = [
        enrolled_member(w.w1 if i % 2 == 0 else w.w2, w.year, name=n) for i, n in enumerate(names)
    ]
    for i, m in enumerate(members):
        approved_claim(m, w.year, 86_000 + 12_345 * i, discharge=dt.date(2026, 3, 10 + i))
    w.member = members[0]
    w.claim = ClaimFactory(
        enrollment=w.member.enrollments.get(),
        filer="union_operator",
        hospital_name="浙江大学医学院附属第一医院",
        admit_date=dt.date(2026, 6, 1),
        discharge_date=dt.date(2026, 6, 12),
    )
    batch = payment_batch_create(acting_user=w.finance, filters=QueueFilters()).batch
    payment_batch_export(batch=batch, file_format="xlsx", acting_user=w.finance)
    payment_batch_mark_sent(batch=batch, acting_user=w.finance)
    rows = batch_bank_rows(batch)
    payment_batch_import_return(
        batch=batch,
        data=bankfile.write_return_file(rows, {rows[-1].seq: (False, "账户已销户")}),
        file_name="回盘.csv",
        acting_user=w.finance,
    )
    w.batch = batch
    csv = tmp_path / "医保结算.csv"
    csv.write_text("\n".join([HEADER, row("PH1", members[1]), row("PH2", "330683199901011234")]))
    w.settlements = settlement_import_file(path=csv, source="医保局").batch
    return w


def _pages(w):
    return {
        "operator": [
            ("dashboard", reverse("web:dashboard")),
            ("unions", reverse("web:union_tree")),
            ("members", reverse("web:member_list")),
            ("member", reverse("web:member_detail", args=[w.member.pk])),
            ("enrollment-import", reverse("web:enrollment_import")),
            ("fees", reverse("web:fee_statements")),
            ("claims", reverse("web:claim_list")),
            ("review-queue-union", reverse("web:review_queue")),
            ("file-claim", reverse("web:review_file_claim") + "?q=欧阳"),
        ],
        "reviewer": [
            ("review-queue", reverse("web:review_queue")),
            ("review-detail", reverse("web:review_detail", args=[w.claim.pk])),
            ("claim-detail", reverse("web:claim_detail", args=[w.claim.pk])),
            ("settlements", reverse("web:settlement_upload")),
            ("settlement-batch", reverse("web:settlement_batch", args=[w.settlements.pk])),
        ],
        "finance": [
            ("payment-queue", reverse("web:payment_queue")),
            ("batches", reverse("web:payment_batches")),
            ("batch", reverse("web:payment_batch", args=[w.batch.pk])),
            ("adjustments", reverse("web:payment_adjustments")),
        ],
    }


def test_every_staff_page_fits_a_360px_phone(browser, live_server, staff_world, screenshot_dir):
    users = {"operator": "pay_op", "reviewer": "phone_rev", "finance": "pay_finance"}
    problems = []
    for role, pages in _pages(staff_world).items():
        context = browser.new_context(
            base_url=live_server.url, viewport={"width": 360, "height": 780}, locale="zh-CN"
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            page.goto("/staff/login/")
            page.fill("input[name=username]", users[role])
            page.fill("input[name=password]", "pw-123456")
            page.click("button[type=submit]")
            page.wait_for_url("**/staff/")
            for name, url in pages:
                response = page.goto(url)
                assert response.status == 200, (role, url, response.status)
                m = page.evaluate(_MEASURE)
                shot = screenshot_dir / f"staff-360-{role}-{name}.png"
                page.screenshot(path=str(shot), full_page=True)
                if ISSUE_SHOTS.is_dir():
                    shutil.copy(shot, ISSUE_SHOTS / shot.name)
                if m["scroll"] > m["inner"]:
                    problems.append(f"{role} {url}: page {m['scroll']}px wide on a 360px screen")
                if m["header"] < m["inner"] - 1:
                    problems.append(f"{role} {url}: header {m['header']}px of {m['inner']}px")
                if m["squeezed"]:
                    problems.append(f"{role} {url}: {m['squeezed']} cells squeezed to <24px")
        finally:
            context.close()
    assert not problems, "\n".join(problems)
