"""Approval amounts and overrides, payment, payment failure, recompute, attaching a settlement."""

import datetime as dt

import pytest

from huzhu.audit.models import AuditEvent
from huzhu.claims import services
from huzhu.claims.error_codes import ClaimError, ClaimErrorCode
from huzhu.claims.ledger import LedgerTotals
from huzhu.claims.models import Claim, ClaimFiler, ClaimStatus, MemberYearLedger, Notification
from huzhu.plans.models import PlanVersion
from tests.factories import ClaimFactory

S = ClaimStatus
E = ClaimErrorCode


def make_claim(world, status, filer=ClaimFiler.MEMBER, **kwargs):
    return ClaimFactory(
        enrollment=world.member.enrollments.get(), status=status, filer=filer, **kwargs
    )


def test_approve_runs_the_engine_callable_under_the_ledger_lock(world):
    claim = make_claim(world, S.UNION_REVIEWED)
    version = PlanVersion.objects.create(
        scheme_year=world.year, version=2, content_hash="0" * 64, source_text="year: 2026"
    )
    seen = {}

    def compute(locked_claim, ledger):
        seen["claim"] = locked_claim.pk
        seen["ledger"] = (ledger.member_id, ledger.scheme_year_id, ledger.version)
        return services.ClaimAmount(
            amount_fen=125_000,
            breakdown={"deductible_fen": 50_000},
            explanation="起付线500.00元，超出部分按50%",
            plan_version_number=2,
            plan_version_id=version.pk,
            ledger_totals=LedgerTotals(50_000, 250_000, 125_000),
        )

    approved = services.claim_approve(claim=claim, acting_user=world.reviewer, amount=compute)
    assert seen == {"claim": claim.pk, "ledger": (world.member.pk, world.year.pk, 0)}
    assert (approved.amount_fen, approved.plan_version_number) == (125_000, 2)
    assert Claim.objects.get(pk=claim.pk).plan_version == version
    assert approved.breakdown == {"deductible_fen": 50_000} and not approved.is_fixed
    ledger = MemberYearLedger.objects.get(member=world.member, scheme_year=world.year)
    assert (ledger.paid_toward_cap_fen, ledger.version) == (125_000, 1)


def test_engine_callable_is_not_run_for_a_refused_step(world):
    claim = make_claim(world, S.SUBMITTED)  # member-filed, no union review yet

    def compute(locked_claim, ledger):
        raise AssertionError("must not compute for a refused step")

    with pytest.raises(ClaimError) as err:
        services.claim_approve(claim=claim, acting_user=world.reviewer, amount=compute)
    assert err.value.code == E.NEEDS_UNION_REVIEW


def test_approve_without_any_amount_is_refused(world):
    claim = make_claim(world, S.UNION_REVIEWED)
    with pytest.raises(ClaimError) as err:
        services.claim_approve(claim=claim, acting_user=world.reviewer)
    assert err.value.code == E.AMOUNT_REQUIRED
    assert Claim.objects.get(pk=claim.pk).status == S.UNION_REVIEWED


def test_override_needs_reason_is_audited_and_fixes_the_claim(world):
    claim = make_claim(world, S.UNION_REVIEWED)
    with pytest.raises(ClaimError) as err:
        services.claim_approve(claim=claim, acting_user=world.reviewer, override_amount_fen=1)
    assert err.value.code == E.REASON_REQUIRED

    approved = services.claim_approve(
        claim=claim,
        acting_user=world.reviewer,
        amount=services.ClaimAmount(amount_fen=125_000),
        override_amount_fen=100_000,
        override_reason="发票金额以审核为准",
    )
    assert approved.amount_fen == 100_000 and approved.is_fixed
    assert approved.override_by == world.reviewer and approved.override_at is not None
    event = AuditEvent.objects.get(action="claim.approved")
    assert event.after["override_amount_fen"] == 100_000
    assert event.reason == "发票金额以审核为准"


def test_override_amount_must_be_whole_non_negative_fen(world):
    claim = make_claim(world, S.UNION_REVIEWED)
    with pytest.raises(ClaimError) as err:
        services.claim_approve(
            claim=claim, acting_user=world.reviewer, override_amount_fen=-5, override_reason="x"
        )
    assert err.value.code == E.INVALID_AMOUNT


def test_zero_claim_is_never_paid(world):
    claim = make_claim(world, S.APPROVED, amount_fen=0)
    with pytest.raises(ClaimError) as err:
        services.claim_mark_paid(claim=claim)
    assert err.value.code == E.ZERO_AMOUNT_NOT_PAYABLE
    assert Claim.objects.get(pk=claim.pk).status == S.APPROVED


def test_payment_failure_keeps_claim_approved_then_payment_clears_it(
    world, django_capture_on_commit_callbacks
):
    claim = make_claim(world, S.APPROVED)
    with django_capture_on_commit_callbacks(execute=True):
        failed = services.claim_record_payment_failure(
            claim=claim, reason="账号户名不符", acting_user=world.finance
        )
    assert failed.status == S.APPROVED
    assert failed.payment_failure_reason == "账号户名不符" and failed.payment_failed_at
    assert "账号户名不符" in Notification.objects.get(kind="claim_payment_failed").text

    paid_at = dt.datetime(2026, 7, 1, 10, tzinfo=dt.UTC)
    paid = services.claim_mark_paid(claim=claim, acting_user=world.finance, paid_at=paid_at)
    assert paid.status == S.PAID and paid.paid_at == paid_at and paid.is_fixed
    assert paid.payment_failure_reason == "" and paid.payment_failed_at is None


def test_payment_failure_only_on_approved_claims_and_by_payments(world):
    claim = make_claim(world, S.PAID)
    with pytest.raises(ClaimError) as err:
        services.claim_record_payment_failure(claim=claim, reason="x")
    assert err.value.code == E.TRANSITION_NOT_ALLOWED
    with pytest.raises(ClaimError) as err:
        services.claim_record_payment_failure(
            claim=make_claim(world, S.APPROVED), reason="x", acting_user=world.reviewer
        )
    assert err.value.code == E.ROLE_NOT_ALLOWED


def test_recompute_changes_unfixed_claim_and_refuses_fixed_ones(world):
    claim = make_claim(world, S.APPROVED, amount_fen=125_000)
    updated, old = services.claim_recompute(
        claim=claim,
        amount=services.ClaimAmount(amount_fen=90_000, plan_version_number=3),
        reason="前一次住院晚到，重新计算",
    )
    assert (old, updated.amount_fen, updated.plan_version_number) == (125_000, 90_000, 3)
    assert AuditEvent.objects.get(action="claim.recompute").before["amount_fen"] == 125_000

    for fixed in (
        make_claim(world, S.APPROVED, is_fixed=True),
        make_claim(world, S.PAID),
        make_claim(world, S.VOID),
    ):
        with pytest.raises(ClaimError) as err:
            services.claim_recompute(
                claim=fixed, amount=services.ClaimAmount(amount_fen=1), reason="x"
            )
        assert err.value.code == E.TRANSITION_NOT_ALLOWED
        assert Claim.objects.get(pk=fixed.pk).amount_fen == fixed.amount_fen


def test_attach_settlement_replaces_stay_fields_while_unpaid(world):
    claim = make_claim(world, S.SUBMITTED, self_pay_in_policy_fen=300_000)
    attached = services.claim_attach_settlement(
        claim=claim,
        settlement_id="S-777",
        stay={"self_pay_in_policy_fen": 280_000, "hospital_code": "H001"},
        reason="匹配到医保结算记录",
    )
    assert attached.settlement_id == "S-777"
    assert attached.self_pay_in_policy_fen == 280_000


def test_attach_settlement_on_paid_claim_records_only_the_id(world):
    claim = make_claim(world, S.PAID, self_pay_in_policy_fen=300_000)
    attached = services.claim_attach_settlement(
        claim=claim, settlement_id="S-778", stay={"self_pay_in_policy_fen": 280_000}
    )
    assert attached.settlement_id == "S-778"
    assert attached.self_pay_in_policy_fen == 300_000


def test_attach_settlement_already_claimed_is_refused(world):
    make_claim(world, S.APPROVED, settlement_id="S-779", source="auto", filer="platform")
    manual = make_claim(world, S.SUBMITTED)
    with pytest.raises(ClaimError) as err:
        services.claim_attach_settlement(claim=manual, settlement_id="S-779", stay={})
    assert err.value.code == E.DUPLICATE_SETTLEMENT
    assert Claim.objects.get(pk=manual.pk).settlement_id is None


def test_one_payment_failure_path_for_one_claim_and_a_bank_return_file(world):
    """Issue 15: a failed payment was written two ways (`claim_record_payment_failure`, and
    the bank return file's set-based twin, which asked no role, took a blank reason and told
    the member of a one-stop claim to check their card when the *hospital's* transfer
    failed). Now the single case calls the batch one: same checks, same rows."""
    from huzhu.claims.models import PayeeKind
    from huzhu.claims.payment_steps import claims_record_payment_failure_many

    hospital_paid = make_claim(
        world, S.APPROVED, payee_kind=PayeeKind.HOSPITAL, hospital_code="H001", source="onestop"
    )
    member_paid = make_claim(world, S.APPROVED)
    # A reviewer may not record a failure, in a file or one by one; a reason is required.
    with pytest.raises(ClaimError) as err:
        claims_record_payment_failure_many(
            failures={member_paid.pk: "户名不符"}, acting_user=world.reviewer
        )
    assert err.value.code == E.ROLE_NOT_ALLOWED
    with pytest.raises(ClaimError) as err:
        claims_record_payment_failure_many(
            failures={member_paid.pk: " "}, acting_user=world.finance
        )
    assert err.value.code == E.REASON_REQUIRED
    assert not Claim.objects.filter(payment_failed_at__isnull=False).exists()
    n = claims_record_payment_failure_many(
        failures={hospital_paid.pk: "医院账户已销户", member_paid.pk: "户名不符"},
        acting_user=world.finance,
    )
    assert n == 2
    # Only the member payee is asked to check the card.
    told = Notification.objects.filter(kind="claim_payment_failed")
    assert list(told.values_list("claim_id", flat=True)) == [member_paid.pk]
    # The one-claim step writes the same audit row as the file's.
    again = make_claim(world, S.APPROVED)
    services.claim_record_payment_failure(claim=again, reason="卡已挂失", acting_user=world.finance)
    rows = AuditEvent.objects.filter(action="claim.payment_failed").order_by("id")
    shapes = {(r.before is None, tuple(sorted(r.after)), bool(r.reason)) for r in rows}
    assert rows.count() == 3 and len(shapes) == 1
