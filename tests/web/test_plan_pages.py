"""Plans and scheme years in the browser: upload (every problem with its path), the readable
table, the comparison of two versions, the preview of what a new version re-prices and its
result once loaded."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.plans.models import PlanVersion
from tests.factories import ClaimFactory, EnrollmentFactory, MemberFactory
from tests.member_pages.conftest import PLAN_2026

pytestmark = pytest.mark.django_db


def _upload(client, text, name="plan-2026.yaml"):
    return client.post(
        reverse("web:plan_list"), {"file": SimpleUploadedFile(name, text.encode("utf-8"))}
    )


def _confirm(client, preview):
    """Post the preview page's confirmation form back."""
    form = preview.context
    return client.post(
        reverse("web:plan_list"),
        {
            "confirm": "1",
            "source_text": form["source_text"],
            "source_name": form["source_name"],
            "content_hash": form["content_hash"],
        },
    )


def _load(client, text, name="plan-2026.yaml"):
    preview = _upload(client, text, name)
    assert preview.status_code == 200 and 'id="plan-confirm"' in preview.content.decode()
    return _confirm(client, preview)


def test_reviewer_loads_reads_compares_and_sees_what_would_be_repriced(login, reviewer, tree):
    from huzhu.plans.services import plan_load

    # last year's plan, loaded by the command (no user)
    plan_load(source_text=PLAN_2026.replace("2026", "2025"), source_name="plan-2025.yaml")
    client = login(reviewer)
    # A broken file: every problem listed with its path, nothing loaded
    broken = PLAN_2026.replace('cap: {amount: "30000.00", per: year}', "cap: {amount: x}")
    broken = broken.replace('fee_per_member: "60.00"', 'fee_per_member: "-1"')
    response = _upload(client, broken)
    assert response.status_code == 400
    page = response.content.decode()
    assert "fee_per_member" in page and "benefits[0].cap" in page
    assert PlanVersion.objects.count() == 1

    # The file itself: previewed, nothing stored until confirmed; then version 1, shown as
    # the table members read
    assert _upload(client, PLAN_2026).status_code == 200
    assert not PlanVersion.objects.filter(scheme_year__year=2026).exists()
    response = _load(client, PLAN_2026)
    v1 = PlanVersion.objects.get(scheme_year__year=2026)
    assert response["Location"] == reverse("web:plan_version", args=[v1.pk])
    page = client.get(response["Location"]).content.decode()
    assert "每年度累计500.00元" in page and "30,000.00元" in page
    assert "C00-C97 恶性肿瘤（癌症）" in page

    # Claims priced under version 1: one open, one paid
    member = MemberFactory(union=tree["a"])
    enrollment = EnrollmentFactory(member=member, scheme_year=v1.scheme_year)
    open_claim = ClaimFactory(
        enrollment=enrollment, status="approved", plan_version=v1, plan_version_number=1
    )
    paid = ClaimFactory(enrollment=enrollment, status="paid", plan_version=v1)

    # A changed file: version 2; what changed is named, before and after
    _load(client, PLAN_2026.replace('"30000.00"', '"40000.00"'), name="plan-2026-v2.yaml")
    v2 = PlanVersion.objects.get(version=2)
    compare = client.get(reverse("web:plan_compare"), {"a": v1.pk, "b": v2.pk}).content
    compare = compare.decode()
    changes = compare.split('id="plan-changes"')[1].split("</table>")[0]
    assert "封顶线" in changes and "30,000.00元" in changes and "40,000.00元" in changes
    assert "起付线" not in changes
    # Loading it re-priced the open claim (same amount under the new cap), not the paid one
    open_claim.refresh_from_db()
    paid.refresh_from_db()
    assert (open_claim.plan_version_id, paid.plan_version_id) == (v2.pk, v1.pk)
    page = client.get(reverse("web:plan_version", args=[v2.pk])).content.decode()
    repricing = page.split('id="plan-repricing"')[1]
    assert "申请 1 件按此版本重新计算，其中金额变化 0 件" in repricing
    assert "已发放或金额已锁定的 1 件保持原版本" in repricing
    listing = client.get(reverse("web:plan_list")).content.decode()
    assert f"?a={v1.pk}&amp;b={v2.pk}" in listing

    # The same file again changes nothing
    _upload(client, PLAN_2026)
    assert PlanVersion.objects.filter(scheme_year__year=2026).count() == 2
    assert "命令行 / 演示" in client.get(reverse("web:plan_list")).content.decode()


def test_finance_reads_plans_but_does_not_load_them_operators_do_neither(
    login, finance, operator_a
):
    client = login(finance)
    assert client.get(reverse("web:plan_list")).status_code == 200
    assert _upload(client, PLAN_2026).status_code == 403
    assert login(operator_a).get(reverse("web:plan_list")).status_code == 403


def test_a_new_version_is_previewed_then_loading_it_reprices_and_shows_the_result(
    login, reviewer, tree
):
    """Issue 17: the plans page re-prices when a version is loaded (not only lists), with a
    preview of how many claims change and by how much before confirming."""
    from huzhu.claims.models import Claim

    client = login(reviewer)
    _load(client, PLAN_2026)
    v1 = PlanVersion.objects.get(scheme_year__year=2026)
    member = MemberFactory(union=tree["a"])
    enrollment = EnrollmentFactory(member=member, scheme_year=v1.scheme_year)
    # 3,000.00 in policy: (3,000 − 500) × 50% = 1,250.00 under version 1
    claim = ClaimFactory(
        enrollment=enrollment, status="approved", plan_version=v1, plan_version_number=1
    )
    v2_text = PLAN_2026.replace('{amount: "500.00", per: year}', '{amount: "1000.00", per: year}')
    preview = _upload(client, v2_text, name="plan-2026-v2.yaml")
    page = preview.content.decode()
    # The preview names the change and the money, and stores nothing
    assert "起付线" in page.split('id="plan-preview-changes"')[1].split("</section>")[0]
    repricing = page.split('id="plan-preview-repricing"')[1].split("</section>")[0]
    assert "申请 1 件将按新版本重新计算，其中金额变化 1 件，差额合计 -250.00 元" in repricing
    assert claim.number in repricing and "1,000.00" in repricing
    assert PlanVersion.objects.count() == 1
    claim.refresh_from_db()
    assert (claim.amount_fen, claim.plan_version_id) == (125000, v1.pk)
    # A tampered confirmation is refused
    bad = client.post(
        reverse("web:plan_list"),
        {"confirm": "1", "source_text": v2_text + "#", "content_hash": "0" * 64},
    )
    assert bad.status_code == 302 and PlanVersion.objects.count() == 1
    # Confirming loads it and re-prices the claim: (3,000 − 1,000) × 50% = 1,000.00
    response = _confirm(client, preview)
    v2 = PlanVersion.objects.get(version=2)
    assert response["Location"] == reverse("web:plan_version", args=[v2.pk])
    claim = Claim.objects.get(pk=claim.pk)
    assert (claim.amount_fen, claim.plan_version_id) == (100000, v2.pk)
    page = client.get(response["Location"]).content.decode()
    # the confirmation's message says what the load did
    assert "按新版本重新计算尚未发放的申请 1 件，金额变化 1 件，差额合计 -250.00 元" in page
    effect = page.split('id="plan-load-effect"')[1].split("</section>")[0]
    assert "金额变化 1 件，差额合计 -250.00 元" in effect
    assert claim.number in effect and "-250.00" in effect
