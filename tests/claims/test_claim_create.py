"""Creating claims: drafts, submissions, auto-claims and one-stop claims; numbers; duplicates."""

import datetime as dt
import re

import pytest

from huzhu.audit.models import AuditEvent
from huzhu.claims import services
from huzhu.claims.error_codes import ClaimError, ClaimErrorCode
from huzhu.claims.ledger import LedgerTotals
from huzhu.claims.models import (
    Claim,
    ClaimFiler,
    ClaimSource,
    ClaimStatus,
    ClaimTransition,
    MemberYearLedger,
    Notification,
    PayeeKind,
)
from huzhu.claims.numbers import claim_numbers_allocate
from tests.factories import MemberFactory

S = ClaimStatus
E = ClaimErrorCode

STAY = {
    "settlement_id": "S-0001",
    "hospital_name": "嵊州市人民医院",
    "hospital_code": "H001",
    "admit_date": dt.date(2026, 5, 1),
    "discharge_date": dt.date(2026, 5, 10),
    "total_cost_fen": 2_000_000,
    "fund_paid_fen": 700_000,
    "self_pay_in_policy_fen": 1_200_000,
    "self_pay_out_policy_fen": 100_000,
    "diagnosis_code": "C50.901",
}
MANUAL = {
    "benefit_code": "inpatient",
    "benefit_name": "住院医疗互助",
    "hospital_name": "上海瑞金医院",
    "admit_date": dt.date(2026, 3, 2),
    "discharge_date": dt.date(2026, 3, 9),
    "invoice_number": "INV-001",
    "self_pay_in_policy_fen": 500_000,
}


def auto(world, **kwargs):
    params = {
        "member": world.member,
        "scheme_year": world.year,
        "benefit_code": "inpatient",
        "benefit_name": "住院医疗互助",
        "stay": STAY,
        "amount": services.ClaimAmount(
            amount_fen=645_000, breakdown={"bands": [1]}, explanation="按50%/60%计算"
        ),
    }
    params.update(kwargs)
    return services.claim_create_auto(**params)


def test_claim_numbers_are_readable_unique_and_increasing(db):
    numbers = claim_numbers_allocate(year=2026, count=3) + claim_numbers_allocate(year=2027)
    assert all(re.fullmatch(r"HZ20\d\d-\d{6,}", n) for n in numbers)
    assert len(set(numbers)) == 4
    serials = [int(n.split("-")[1]) for n in numbers]
    assert serials == sorted(serials)
    assert numbers[3].startswith("HZ2027-")


def test_auto_claim_with_all_checks_passed_is_approved_and_member_told(
    world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        claim = auto(world)
    assert claim.status == S.APPROVED and claim.approved_at is not None
    assert (claim.source, claim.filer, claim.created_by) == ("auto", ClaimFiler.PLATFORM, None)
    assert claim.union == world.w1 and claim.enrollment == world.member.enrollments.get()
    assert claim.amount_fen == 645_000 and claim.breakdown == {"bands": [1]}
    assert not claim.is_fixed
    step = ClaimTransition.objects.get(claim=claim)
    assert (step.from_status, step.to_status, step.actor) == ("", S.APPROVED, None)
    assert AuditEvent.objects.get(action="claim.create").after["number"] == claim.number
    note = Notification.objects.get(claim=claim)
    assert note.text == (
        "您在嵊州市人民医院的住院（2026-05-01至05-10）已自动受理住院医疗互助，金额6,450.00元，"
        f"无需申请（{claim.number}）"
    )


def test_auto_claim_of_zero_tells_member_why(world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        claim = auto(
            world, amount=services.ClaimAmount(amount_fen=0, explanation="费用未超过起付线500.00元")
        )
    assert claim.status == S.APPROVED and claim.amount_fen == 0
    assert "金额0.00元" in claim.notifications.get().text
    assert "费用未超过起付线500.00元" in claim.notifications.get().text


def test_doubtful_auto_claim_goes_to_review_with_reason(world):
    claim = auto(world, review_reason="基金支付与自付之和不等于总费用")
    assert claim.status == S.SUBMITTED
    assert claim.review_reason == "基金支付与自付之和不等于总费用"
    assert claim.amount_fen == 645_000  # the engine's figure, for the reviewer
    # the platform filed it, so a reviewer decides it directly
    approved = services.claim_approve(claim=claim, acting_user=world.reviewer)
    assert approved.status == S.APPROVED and approved.amount_fen == 645_000


def test_onestop_claim_is_fixed_and_paid_to_hospital(world):
    claim = auto(world, source=ClaimSource.ONESTOP, payee_kind=PayeeKind.HOSPITAL)
    assert claim.status == S.APPROVED and claim.is_fixed
    assert claim.payee_kind == PayeeKind.HOSPITAL and claim.hospital_code == "H001"


def test_hospital_payee_needs_hospital_code(world):
    with pytest.raises(ClaimError) as err:
        auto(world, stay={**STAY, "hospital_code": ""}, payee_kind=PayeeKind.HOSPITAL)
    assert err.value.code == E.INCOMPLETE and err.value.field == "hospital_code"


def test_same_settlement_and_benefit_is_never_claimed_twice(world):
    first = auto(world)
    with pytest.raises(ClaimError) as err:
        auto(world)
    assert err.value.code == E.DUPLICATE_SETTLEMENT
    assert first.number in err.value.message
    assert Claim.objects.count() == 1
    # a lump sum triggered by the same stay is another row for the same settlement id
    lump = auto(world, benefit_code="critical_illness", benefit_name="重大疾病互助")
    assert lump.settlement_id == first.settlement_id


def test_auto_claim_locks_ledger_and_stores_engine_totals(world):
    totals = LedgerTotals(
        deductible_used_fen=50_000,
        cumulative_excess_fen=1_150_000,
        paid_toward_cap_fen=645_000,
        lump_sums={"critical_illness": "HZ2026-000001"},
    )
    auto(world, amount=services.ClaimAmount(amount_fen=645_000, ledger_totals=totals))
    ledger = MemberYearLedger.objects.get(member=world.member, scheme_year=world.year)
    assert (ledger.deductible_used_fen, ledger.cumulative_excess_fen) == (50_000, 1_150_000)
    assert ledger.paid_toward_cap_fen == 645_000 and ledger.version == 1
    assert ledger.lump_sums == {"critical_illness": "HZ2026-000001"}


def test_auto_claim_for_member_not_enrolled_is_refused(world):
    stranger = MemberFactory(union=world.w1)
    with pytest.raises(ClaimError) as err:
        auto(world, member=stranger)
    assert err.value.code == E.NOT_ENROLLED
    assert not Claim.objects.exists()


def test_member_saves_draft_then_completes_and_submits(world, django_capture_on_commit_callbacks):
    draft = services.claim_save_draft(
        acting_user=world.member_user,
        member=world.member,
        scheme_year=world.year,
        data={"benefit_code": "inpatient", "hospital_name": "上海瑞金医院"},
    )
    assert draft.status == S.DRAFT and draft.filer == ClaimFiler.MEMBER
    draft = services.claim_save_draft(
        acting_user=world.member_user, claim=draft, data={"admit_date": dt.date(2026, 3, 2)}
    )
    with pytest.raises(ClaimError) as err:
        services.claim_submit(claim=draft, acting_user=world.member_user)
    assert err.value.code == E.INCOMPLETE and err.value.field == "discharge_date"
    assert Claim.objects.get(pk=draft.pk).status == S.DRAFT

    with django_capture_on_commit_callbacks(execute=True):
        submitted = services.claim_submit(
            claim=draft,
            acting_user=world.member_user,
            data={"discharge_date": dt.date(2026, 3, 9)},
        )
    assert submitted.status == S.SUBMITTED and submitted.submitted_at is not None
    assert submitted.discharge_date == dt.date(2026, 3, 9)
    assert [t.to_status for t in submitted.transitions.all()] == [S.DRAFT, S.SUBMITTED]
    assert "已提交" in Notification.objects.get(claim=draft).text


def test_draft_cannot_be_saved_once_submitted(world):
    claim = services.claim_submit(
        acting_user=world.member_user, member=world.member, scheme_year=world.year, data=MANUAL
    )
    with pytest.raises(ClaimError) as err:
        services.claim_save_draft(
            acting_user=world.member_user, claim=claim, data={"hospital_name": "别的医院"}
        )
    assert err.value.code == E.TRANSITION_NOT_ALLOWED


def test_operator_filed_claim_goes_straight_to_federation(world):
    claim = services.claim_submit(
        acting_user=world.operator, member=world.member, scheme_year=world.year, data=MANUAL
    )
    assert claim.filer == ClaimFiler.UNION_OPERATOR and claim.created_by == world.operator
    approved = services.claim_approve(
        claim=claim, acting_user=world.reviewer, amount=services.ClaimAmount(amount_fen=225_000)
    )
    assert approved.status == S.APPROVED


@pytest.mark.parametrize(
    "data,code,field",
    [
        ({**MANUAL, "discharge_date": dt.date(2027, 1, 3)}, E.WRONG_SCHEME_YEAR, "discharge_date"),
        ({**MANUAL, "admit_date": dt.date(2026, 3, 10)}, E.INVALID_FIELD, "discharge_date"),
        ({**MANUAL, "hospital_name": " "}, E.INCOMPLETE, "hospital_name"),
        ({**MANUAL, "self_pay_in_policy_fen": -1}, E.INVALID_AMOUNT, "self_pay_in_policy_fen"),
        ({**MANUAL, "self_pay_in_policy_fen": 12.5}, E.INVALID_AMOUNT, "self_pay_in_policy_fen"),
        ({**MANUAL, "admit_date": "2026-03-02"}, E.INVALID_FIELD, "admit_date"),
        ({**MANUAL, "settlement_id": "S-9"}, E.INVALID_FIELD, "settlement_id"),
        ({**MANUAL, "status": "approved"}, E.INVALID_FIELD, "status"),
        ({**MANUAL, "hospital_name": "医" * 200}, E.INVALID_FIELD, "hospital_name"),
    ],
)
def test_bad_claim_input_is_refused_naming_the_field(world, data, code, field):
    with pytest.raises(ClaimError) as err:
        services.claim_submit(
            acting_user=world.member_user, member=world.member, scheme_year=world.year, data=data
        )
    assert (err.value.code, err.value.field) == (code, field)
    assert not Claim.objects.exists()


def test_invoice_claimed_once_per_benefit_until_rejected(world):
    first = services.claim_submit(
        acting_user=world.member_user, member=world.member, scheme_year=world.year, data=MANUAL
    )
    with pytest.raises(ClaimError) as err:
        services.claim_submit(
            acting_user=world.member_user, member=world.member, scheme_year=world.year, data=MANUAL
        )
    assert err.value.code == E.DUPLICATE_INVOICE and first.number in err.value.message
    # after the first is rejected the invoice may be claimed again
    services.claim_union_review(claim=first, acting_user=world.operator)
    services.claim_reject(claim=first, acting_user=world.reviewer, reason="材料不全")
    again = services.claim_submit(
        acting_user=world.member_user, member=world.member, scheme_year=world.year, data=MANUAL
    )
    assert again.status == S.SUBMITTED


def test_resubmit_with_an_invoice_already_used_is_refused_and_changes_nothing(world):
    services.claim_submit(
        acting_user=world.member_user, member=world.member, scheme_year=world.year, data=MANUAL
    )
    other = services.claim_submit(
        acting_user=world.member_user,
        member=world.member,
        scheme_year=world.year,
        data={**MANUAL, "invoice_number": "INV-002"},
    )
    other = services.claim_return(claim=other, acting_user=world.operator, reason="发票号有误")
    with pytest.raises(ClaimError) as err:
        services.claim_resubmit(
            claim=other, acting_user=world.member_user, data={"invoice_number": "INV-001"}
        )
    assert err.value.code == E.DUPLICATE_INVOICE
    stored = Claim.objects.get(pk=other.pk)
    assert (stored.status, stored.invoice_number) == (S.RETURNED, "INV-002")
