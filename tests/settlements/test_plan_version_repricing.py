"""A new plan version re-prices the year's unpaid, unfixed claims; fixed ones keep the
version they used (domain.md "Plan versions"; issue 15 "Late data is re-adjudicated")."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import AdjustmentItem, Claim, MemberYearLedger, Notification
from huzhu.claims.services import claim_mark_paid
from huzhu.plans.services import plan_load
from huzhu.settlements.services import settlement_import_file
from tests.settlements.conftest import PLAN_2026, row

pytestmark = pytest.mark.django_db

A = {"base": "3000.00", "admit": "2026-03-01", "discharge": "2026-03-10"}
B = {"base": "12000.00", "admit": "2026-05-01", "discharge": "2026-05-10"}


def v2_text(**changes) -> str:
    text = PLAN_2026.read_text(encoding="utf-8")
    for old, new in changes.values():
        assert old in text
        text = text.replace(old, new)
    return text


DEDUCTIBLE_1000 = ('{amount: "500.00", per: year}', '{amount: "1000.00", per: year}')


def test_unpaid_claims_are_repriced_and_a_paid_one_keeps_its_version(plans, enroll, write_csv):
    # Given A (paid, so fixed) and B (approved, unpaid) under version 1
    m = enroll()
    settlement_import_file(path=write_csv([row("A1", m, **A), row("B1", m, **B)]))
    claim_mark_paid(claim=Claim.objects.get(settlement_id="A1"))
    assert Claim.objects.get(settlement_id="B1").amount_fen == 645000
    # When version 2 raises the deductible to 1,000.00
    result = plan_load(source_text=v2_text(d=DEDUCTIBLE_1000), source_name="2026-v2.yaml")
    assert result.version.version == 2
    # Then A keeps version 1 and its amount, with no adjustment item (not clawed back)
    a = Claim.objects.get(settlement_id="A1")
    assert (a.amount_fen, a.plan_version_number, a.status) == (125000, 1, "paid")
    assert not AdjustmentItem.objects.exists()
    # and B is priced under version 2 from where A left the ledger (500.00 of the
    # deductible used, 2,500.00 into the bands): 500.00 more deductible, then 11,500.00
    # of excess from 2,500.00: 7,500.00 × 50% + 4,000.00 × 60% = 6,150.00
    b = Claim.objects.get(settlement_id="B1")
    assert (b.amount_fen, b.plan_version_number, b.plan_version_id) == (
        615000,
        2,
        result.version.pk,
    )
    assert b.breakdown["deductible_fen"] == 50000
    assert result.follow_ups["repriced"] == {
        "recomputed": 1,
        "changed": 1,
        "difference": "-300.00",
        "kept_fixed": 1,
    }
    ledger = MemberYearLedger.objects.get(member=m)
    assert (ledger.deductible_used_fen, ledger.paid_toward_cap_fen) == (100000, 740000)
    # The member is told, and the change is audited with its reason
    note = Notification.objects.get(claim=b, kind="claim_recomputed")
    assert "6,150.00" in note.text and "第2版" in note.text
    event = AuditEvent.objects.get(action="claim.recompute", object_id=str(b.pk))
    assert event.before["amount_fen"] == 645000 and event.after["amount_fen"] == 615000
    assert AuditEvent.objects.filter(action="plan.reprice").count() == 1


def test_a_reviewers_override_is_fixed_and_keeps_its_version(plans, enroll, write_csv):
    from huzhu.claims.services import claim_approve
    from huzhu.organizations.models import Role
    from tests.factories import UserFactory

    m = enroll()
    # An auto-claim sent to review (amounts do not add up), approved with an override
    settlement_import_file(path=write_csv([row("B1", m, total="1.00", **B)]))
    b = Claim.objects.get(settlement_id="B1")
    assert b.status == "submitted"
    reviewer = UserFactory(username="rv", role=Role.FEDERATION_REVIEWER)
    claim_approve(
        claim=b, acting_user=reviewer, override_amount_fen=700000, override_reason="金额已核实"
    )
    plan_load(source_text=v2_text(d=DEDUCTIBLE_1000), source_name="2026-v2.yaml")
    b.refresh_from_db()
    assert (b.amount_fen, b.plan_version_number, b.is_fixed) == (700000, 1, True)
    assert not AdjustmentItem.objects.exists()


def test_a_claim_waiting_for_review_and_a_lump_sum_are_repriced_too(plans, enroll, write_csv):
    m = enroll()
    settlement_import_file(
        path=write_csv([row("A1", m, diag="C34.900", **A), row("B1", m, total="1.00", **B)])
    )
    lump = Claim.objects.get(settlement_id="A1", benefit_code="critical_illness")
    assert lump.amount_fen == 1000000
    assert Claim.objects.get(settlement_id="B1").status == "submitted"
    text = v2_text(d=DEDUCTIBLE_1000, l=('lump_sum: "10000.00"', 'lump_sum: "12000.00"'))
    result = plan_load(source_text=text, source_name="v2.yaml")
    lump.refresh_from_db()
    assert (lump.amount_fen, lump.plan_version_number) == (1200000, 2)
    a = Claim.objects.get(settlement_id="A1", benefit_code="inpatient")
    b = Claim.objects.get(settlement_id="B1")
    assert a.amount_fen == 100000  # (3,000 − 1,000) × 50%
    # 12,000.00 of excess from 2,000.00: 8,000.00 × 50% + 4,000.00 × 60%
    assert (b.status, b.amount_fen) == ("submitted", 640000)
    assert result.follow_ups["repriced"]["recomputed"] == 3
    # +2,000.00 (lump sum) − 250.00 (A) − 50.00 (B: 6,450.00 → 6,400.00)
    assert result.follow_ups["repriced"]["difference"] == "1700.00"
    assert Notification.objects.filter(claim=b, kind="claim_recomputed").exists()


def test_loading_the_same_file_again_changes_nothing(plans, enroll, write_csv):
    m = enroll()
    settlement_import_file(path=write_csv([row("B1", m, **B)]))
    result = plan_load(source_text=PLAN_2026.read_text(encoding="utf-8"), source_name="again")
    assert not result.created and result.follow_ups == {}
    assert Claim.objects.get(settlement_id="B1").plan_version_number == 1


def test_the_plan_load_command_prints_the_repricing(plans, enroll, write_csv, tmp_path):
    m = enroll()
    settlement_import_file(path=write_csv([row("B1", m, **B)]))
    path = tmp_path / "2026-v2.yaml"
    path.write_text(v2_text(d=DEDUCTIBLE_1000), encoding="utf-8")
    out = StringIO()
    call_command("plan-load", str(path), stdout=out)
    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["repriced"] == {
        "recomputed": 1,
        "changed": 1,
        "difference": "-300.00",  # 11,500.00 of excess (5,900.00) → 11,000.00 (5,600.00)
        "kept_fixed": 0,
    }
    assert summary["readjudicated"]["created"] == 0
    assert any("金额变化1件，差额合计-300.00元" in line for line in lines)
