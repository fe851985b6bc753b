"""Plans and scheme years in the browser: upload (every problem with its path), the readable
table, the comparison of two versions, and the claims a new version would re-price."""

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

    # The file itself: version 1, shown as the table members read
    response = _upload(client, PLAN_2026)
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
    _upload(client, PLAN_2026.replace('"30000.00"', '"40000.00"'), name="plan-2026-v2.yaml")
    v2 = PlanVersion.objects.get(version=2)
    compare = client.get(reverse("web:plan_compare"), {"a": v1.pk, "b": v2.pk}).content
    compare = compare.decode()
    changes = compare.split('id="plan-changes"')[1].split("</table>")[0]
    assert "封顶线" in changes and "30,000.00元" in changes and "40,000.00元" in changes
    assert "起付线" not in changes
    page = client.get(reverse("web:plan_version", args=[v2.pk])).content.decode()
    repricing = page.split('id="plan-repricing"')[1]
    assert open_claim.number in repricing and paid.number not in repricing
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
