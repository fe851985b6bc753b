"""Reversals of stored records and stays that arrive late (domain.md "Settlement records")."""

import pytest

from huzhu.claims.models import AdjustmentItem, Claim, Notification
from huzhu.claims.services import claim_mark_paid
from huzhu.organizations.models import Role
from huzhu.settlements.models import SettlementRecord
from huzhu.settlements.services import settlement_import_file
from tests.factories import UserFactory
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db

A = {"base": "3000.00", "admit": "2026-03-01", "discharge": "2026-03-10"}
B = {"base": "12000.00", "admit": "2026-05-01", "discharge": "2026-05-10"}


def reversal_of(sid, member, **stay):
    neg = {k: v for k, v in stay.items() if k in ("admit", "discharge")}
    return row(f"R-{sid}", member, base="-3000.00", fund="-5000.00", reverses=sid, **neg)


def test_reversal_of_an_unpaid_claim_voids_it_and_recomputes_later_stays(plans, enroll, write_csv):
    m = enroll()
    settlement_import_file(path=write_csv([row("A1", m, **A), row("B1", m, **B)]))
    assert Claim.objects.get(settlement_id="B1").amount_fen == 645000
    # When the bureau reverses A1, then A1's claim is void and B1 pays as the first stay.
    s = settlement_import_file(path=write_csv([reversal_of("A1", m, **A)])).summary
    assert (s["reversals"], s["created"]) == (1, 0)
    a = Claim.objects.get(settlement_id="A1")
    b = Claim.objects.get(settlement_id="B1")
    assert a.status == "void"
    assert b.amount_fen == 590000  # 11500 excess: 10000 × 50% + 1500 × 60%
    assert b.status == "approved"
    record = SettlementRecord.objects.get(settlement_id="A1")
    assert (record.status, record.reversed_by) == ("reversed", "R-A1")
    assert not AdjustmentItem.objects.exists()


def test_reversal_of_a_paid_claim_raises_a_recovery_item(plans, enroll, write_csv):
    m = enroll()
    settlement_import_file(path=write_csv([row("A1", m, **A), row("B1", m, **B)]))
    claim_mark_paid(claim=Claim.objects.get(settlement_id="A1"))
    settlement_import_file(path=write_csv([reversal_of("A1", m, **A)]))
    a = Claim.objects.get(settlement_id="A1")
    assert a.status == "paid" and a.amount_fen == 125000  # never changed
    recovery = AdjustmentItem.objects.get(claim=a)
    assert (recovery.kind, recovery.amount_fen) == ("recovery", 125000)
    assert Claim.objects.get(settlement_id="B1").amount_fen == 590000  # unpaid: recomputed


def test_late_stay_recomputes_and_a_paid_claim_gets_a_top_up(plans, enroll, write_csv):
    m = enroll()
    settlement_import_file(path=write_csv([row("B1", m, **B)]))
    b = Claim.objects.get(settlement_id="B1")
    assert b.amount_fen == 590000
    claim_mark_paid(claim=b)
    # A stay discharged before B1 arrives late: it takes the deductible, B1's share rises.
    s = settlement_import_file(path=write_csv([row("A1", m, **A)])).summary
    assert s["created"] == 1 and s["approved_amount"] == "1250.00"
    b.refresh_from_db()
    assert b.amount_fen == 590000 and b.status == "paid"
    top_up = AdjustmentItem.objects.get(claim=b)
    assert (top_up.kind, top_up.amount_fen) == ("top_up", 55000)  # 6450.00 − 5900.00
    # Another recompute of the same year does not raise the difference twice.
    settlement_import_file(
        path=write_csv([row("C1", m, base="100.00", admit="2026-08-01", discharge="2026-08-02")])
    )
    assert AdjustmentItem.objects.filter(claim=b).count() == 1


def test_late_stay_updates_an_unpaid_later_claim(plans, enroll, write_csv):
    m = enroll()
    settlement_import_file(path=write_csv([row("B1", m, **B)]))
    settlement_import_file(path=write_csv([row("A1", m, **A)]))
    assert Claim.objects.get(settlement_id="B1").amount_fen == 645000
    assert Claim.objects.get(settlement_id="A1").amount_fen == 125000


def test_reversal_that_arrives_before_its_record_is_flagged_then_matched(plans, enroll, write_csv):
    m = enroll()
    s = settlement_import_file(path=write_csv([reversal_of("A1", m, **A)])).summary
    assert s["reversals"] == 1
    pending = SettlementRecord.objects.get(settlement_id="R-A1")
    assert pending.reversal_pending and pending.review_reason
    s = settlement_import_file(path=write_csv([row("A1", m, **A), row("B1", m, **B)])).summary
    assert (s["reversed"], s["covered"], s["created"]) == (1, 1, 1)
    assert not Claim.objects.filter(settlement_id="A1").exists()
    assert Claim.objects.get(settlement_id="B1").amount_fen == 590000
    pending.refresh_from_db()
    assert not pending.reversal_pending and pending.reverses == "A1"


def test_a_manual_claim_for_the_same_stay_gets_the_record_not_a_second_claim(
    plans, enroll, write_csv, union
):
    import datetime as dt

    from huzhu.claims.services import claim_submit
    from huzhu.organizations.models import Role
    from tests.factories import UserFactory

    m = enroll()
    operator = UserFactory(username="op-manual", role=Role.UNION_OPERATOR, union=union)
    manual = claim_submit(
        acting_user=operator,
        member=m,
        scheme_year=plans[0].scheme_year,
        data={
            "benefit_code": "inpatient",
            "hospital_name": "嵊州市人民医院",
            "admit_date": dt.date(2026, 5, 1),
            "discharge_date": dt.date(2026, 5, 10),
            "self_pay_in_policy_fen": 1_000_000,
        },
    )
    s = settlement_import_file(path=write_csv([row("M1", m, **B)])).summary
    assert s["created"] == 0 and s["covered"] == 1
    manual.refresh_from_db()
    assert manual.settlement_id == "M1"
    assert manual.self_pay_in_policy_fen == 1_200_000  # the bureau's figure replaced the claimant's
    assert manual.amount_fen == 590000 and manual.status == "submitted"
    assert Claim.objects.filter(member=m).count() == 1


def _overridden(client, m, write_csv, *, fen_text="2000.00", reason="金额已锁定"):
    """B1 imported for review (amounts do not add up), approved by a reviewer at an
    overridden amount through the review page."""
    settlement_import_file(path=write_csv([row("B1", m, base="3000.00", total="1.00", **DATES_B)]))
    b = Claim.objects.get(settlement_id="B1")
    assert b.status == "submitted" and b.amount_fen == 125000  # first stay: 2,500 × 50%
    reviewer = UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=None)
    client.force_login(reviewer)
    client.post(
        f"/staff/claims/review/{b.pk}/act/",
        {"action": "override", "override_amount": fen_text, "reason": reason},
    )
    b.refresh_from_db()
    assert (b.status, b.amount_fen, b.is_fixed) == ("approved", 200000, True)
    return b


DATES_B = {"admit": "2026-05-01", "discharge": "2026-05-10"}


def test_an_override_is_never_clawed_back_by_a_later_recompute(plans, enroll, write_csv, client):
    m = enroll()
    b = _overridden(client, m, write_csv)
    # When a stay that changes nothing for B1 arrives (discharged later, base under nothing
    # new), B1's computed amount stays 1,250.00: no adjustment, although 2,000.00 ≠ 1,250.00.
    settlement_import_file(
        path=write_csv([row("C1", m, base="100.00", admit="2026-08-01", discharge="2026-08-02")])
    )
    assert not AdjustmentItem.objects.filter(claim=b).exists()
    # When an earlier stay arrives, B1's computed amount moves 1,250.00 → 1,500.00 (A1 takes
    # the deductible): the adjustment is that change, +250.00, not 1,500.00 − 2,000.00.
    settlement_import_file(path=write_csv([row("A1", m, **A)]))
    item = AdjustmentItem.objects.get(claim=b)
    assert (item.kind, item.amount_fen) == ("top_up", 25000)
    # The member is told, with the reason, and sees it on the claim's page.
    note = Notification.objects.get(claim=b, kind="adjustment_top_up")
    assert "250.00" in note.text and item.reason in note.text
    m.user = UserFactory(role=Role.MEMBER, union=None, phone=m.phone)
    m.save(update_fields=["user"])
    client.force_login(m.user)
    page = client.get(f"/m/claims/{b.pk}/").content.decode()
    assert "补发250.00元" in page and item.reason in page


def test_the_breakdown_of_an_overridden_claim_ends_with_the_override_line(
    plans, enroll, write_csv, client
):
    m = enroll()
    b = _overridden(client, m, write_csv, reason="复核后按发票核定")
    page = client.get(f"/staff/claims/{b.pk}/").content.decode()
    breakdown = page[page.index('id="claim-breakdown"') :]
    breakdown = breakdown[: breakdown.index("</table>")]
    assert "平台计算金额" in breakdown and "1,250.00" in breakdown
    assert "人工核定金额（复核后按发票核定）" in breakdown and "2,000.00" in breakdown
    # The computed figure no longer reads as the claim's amount.
    assert ">互助金额<" not in breakdown
