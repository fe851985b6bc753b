"""Creating claims: drafts and submissions by people, auto- and one-stop claims by the platform."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huzhu.audit.models import AuditEvent
from huzhu.audit.services import audit_record
from huzhu.enrollment.models import Enrollment

from ..error_codes import ClaimError, ClaimErrorCode
from ..events import (
    ClaimEvent,
    _actor_id,
    claim_creation_after,
    claim_event_objects,
    claim_events_write,
)
from ..ledger import ledger_lock
from ..models import (
    Claim,
    ClaimSource,
    ClaimStatus,
    ClaimTransition,
    MemberYearLedger,
    Notification,
    PayeeKind,
)
from ..numbers import claim_number_next
from ..workflow import FILER_OF_ACTOR, actor_kind, check_transition
from .inputs import (
    CLAIMANT_FIELDS,
    PLATFORM_FIELDS,
    AmountSource,
    ClaimAmount,
    _amount_changes,
    _check_complete,
    _clean_data,
    _jsonable,
    _resolve_amount,
    _save_checked,
)
from .messages import _notice, _notify
from .transitions import claim_transition

S = ClaimStatus
E = ClaimErrorCode


def _active_enrollment(member, scheme_year) -> Enrollment:
    enrollment = (
        Enrollment.objects.filter(member=member, scheme_year=scheme_year, withdrawn_at__isnull=True)
        .select_related("union")
        .first()
    )
    if enrollment is None:
        raise ClaimError(
            E.NOT_ENROLLED,
            _("%(m)s未参加%(y)s互助，不能申请。") % {"m": member.name, "y": scheme_year},
            field="member",
        )
    return enrollment


def _claim_build(
    *,
    acting_user,
    member,
    scheme_year,
    to_status: str,
    source: str,
    data: dict,
    enrollment: Enrollment,
    payee_kind: str,
    review_reason: str,
    reason: str,
) -> Claim:
    """A new claim checked against the transition table and completeness, not yet saved."""
    kind = actor_kind(acting_user)
    claim = Claim(
        member=member,
        scheme_year=scheme_year,
        enrollment=enrollment,
        union_id=enrollment.union_id,
        source=source,
        filer=FILER_OF_ACTOR.get(kind, ""),
        payee_kind=payee_kind,
        status=to_status,
        review_reason=review_reason,
        status_reason=review_reason or reason,
        created_by=acting_user,
        **data,
    )
    check_transition(claim, None, to_status, acting_user)
    if payee_kind == PayeeKind.HOSPITAL and not claim.hospital_code:
        raise ClaimError(E.INCOMPLETE, _("收款方为医院时须有医院代码。"), field="hospital_code")
    if to_status != S.DRAFT:
        _check_complete(claim)
    return claim


def _stamp(claim: Claim, to_status: str) -> None:
    now = timezone.now()
    claim.status_changed_at = now
    if to_status == S.SUBMITTED:
        claim.submitted_at = now
    if to_status == S.APPROVED:
        claim.approved_at = now


def _claim_create(
    *,
    acting_user,
    member,
    scheme_year,
    to_status: str,
    source: str,
    data: dict,
    enrollment: Enrollment | None = None,
    amount: AmountSource | None = None,
    ledger: MemberYearLedger | None = None,
    payee_kind: str = PayeeKind.MEMBER,
    review_reason: str = "",
    reason: str = "",
) -> Claim:
    with transaction.atomic():
        if enrollment is None:
            enrollment = _active_enrollment(member, scheme_year)
        claim = _claim_build(
            acting_user=acting_user,
            member=member,
            scheme_year=scheme_year,
            to_status=to_status,
            source=source,
            data=data,
            enrollment=enrollment,
            payee_kind=payee_kind,
            review_reason=review_reason,
            reason=reason,
        )
        if to_status == S.APPROVED and amount is None:
            raise ClaimError(E.AMOUNT_REQUIRED, _("核准的申请须有金额。"), field="amount_fen")
        if amount is not None:
            if ledger is None:
                ledger = ledger_lock(member_id=member.pk, scheme_year_id=scheme_year.pk)
            for name, value in _resolve_amount(amount, claim, ledger).items():
                setattr(claim, name, value)
        _stamp(claim, to_status)
        claim.number = claim_number_next(year=scheme_year.year)
        _save_checked(claim, force_insert=True)
        claim_events_write(
            [
                ClaimEvent(
                    claim_id=claim.pk,
                    from_status="",
                    to_status=to_status,
                    actor_id=_actor_id(acting_user),
                    reason=claim.status_reason,
                    after=claim_creation_after(
                        status=to_status,
                        number=claim.number,
                        source=source,
                        amount_fen=claim.amount_fen,
                    ),
                )
            ],
            at=claim.status_changed_at,
        )
        _notify(claim, None, actor_kind(acting_user), reason)
    return claim


def claim_save_draft(
    *,
    acting_user,
    data: dict,
    claim: Claim | None = None,
    member=None,
    scheme_year=None,
) -> Claim:
    """A member saves a claim without sending it: creates a draft, or updates their draft.

    A draft may be incomplete; `claim_submit` checks completeness.
    """
    cleaned = _clean_data(data, CLAIMANT_FIELDS)
    if claim is None:
        return _claim_create(
            acting_user=acting_user,
            member=member,
            scheme_year=scheme_year,
            to_status=S.DRAFT,
            source=ClaimSource.MANUAL,
            data=cleaned,
        )
    with transaction.atomic():
        locked = Claim.objects.select_for_update().get(pk=claim.pk)
        if locked.status != S.DRAFT:
            raise ClaimError(
                E.TRANSITION_NOT_ALLOWED,
                _("申请%(n)s已不是草稿，不能再保存为草稿。") % {"n": locked.number},
            )
        check_transition(locked, None, S.DRAFT, acting_user)  # the owner only
        before = {k: _jsonable(getattr(locked, k)) for k in cleaned}
        for name, value in cleaned.items():
            setattr(locked, name, value)
        _save_checked(locked, update_fields=[*cleaned, "updated_at"])
        audit_record(
            actor=acting_user,
            action="claim.draft_update",
            obj=locked,
            before=before,
            after={k: _jsonable(v) for k, v in cleaned.items()},
        )
    return locked


def claim_submit(
    *,
    acting_user,
    claim: Claim | None = None,
    member=None,
    scheme_year=None,
    data: dict | None = None,
    reason: str = "",
) -> Claim:
    """Send a claim for review: a new one (member or union operator), or a saved draft.

    Member-filed claims go to the union's first review; union-operator-filed ones go straight
    to the federation.
    """
    cleaned = _clean_data(data, CLAIMANT_FIELDS)
    if claim is None:
        return _claim_create(
            acting_user=acting_user,
            member=member,
            scheme_year=scheme_year,
            to_status=S.SUBMITTED,
            source=ClaimSource.MANUAL,
            data=cleaned,
            reason=reason,
        )
    return claim_transition(
        claim=claim, to_status=S.SUBMITTED, acting_user=acting_user, reason=reason, changes=cleaned
    )


def claim_create_auto(
    *,
    member,
    scheme_year,
    benefit_code: str,
    stay: dict,
    amount: AmountSource,
    benefit_name: str = "",
    source: str = ClaimSource.AUTO,
    review_reason: str = "",
    payee_kind: str = PayeeKind.MEMBER,
    enrollment: Enrollment | None = None,
    ledger: MemberYearLedger | None = None,
) -> Claim:
    """The platform creates a claim from a settlement record (免申即享) or a cashier (one-stop).

    All checks passed (`review_reason` empty) → `approved`; otherwise → `submitted` with the
    reason, for a reviewer. `stay` holds the stay's fields (settlement_id, hospital_name,
    hospital_code, admit_date, discharge_date, invoice_number, the *_fen base amounts,
    diagnosis_code). One-stop claims are fixed (the cashier already deducted the amount).

    Holds the member-year ledger lock while it computes and writes; pass `ledger` when the
    caller already holds it (saves a query), and `enrollment` when already loaded.
    A second claim for the same settlement id and benefit raises DUPLICATE_SETTLEMENT.
    """
    data = _clean_data(
        {**stay, "benefit_code": benefit_code, "benefit_name": benefit_name}, PLATFORM_FIELDS
    )
    review_reason = (review_reason or "").strip()
    to_status = S.SUBMITTED if review_reason else S.APPROVED
    if source == ClaimSource.ONESTOP:
        if review_reason:
            raise ClaimError(E.TRANSITION_NOT_ALLOWED, _("一站式结算的申请只能在核准后提交。"))
        data["is_fixed"] = True
    return _claim_create(
        acting_user=None,
        member=member,
        scheme_year=scheme_year,
        to_status=to_status,
        source=source,
        data=data,
        enrollment=enrollment,
        amount=amount,
        ledger=ledger,
        payee_kind=payee_kind,
        review_reason=review_reason,
        reason=review_reason,
    )


@dataclass
class OnestopClaimRows:
    """A one-stop claim and the rows that go with it, built and checked, not yet written.

    The cashier's settle writes them together with its ledger update and request row in as
    few round trips as the database allows, and delivers the notification after the commit
    (`huzhu.hospitals.writes`). Its audit record is the one-stop request row (hospital,
    request_id, body digest, time, the full answer with the claim numbers) and, like every
    channel's, one `claim.create` audit event and one creation transition (`events.py`).
    """

    claim: Claim
    transition: ClaimTransition
    audit: AuditEvent
    notification: Notification | None


def claim_rows_onestop(
    *,
    member,
    scheme_year,
    enrollment: Enrollment,
    benefit_code: str,
    benefit_name: str,
    stay: dict,
    amount: ClaimAmount,
    number: str,
    claim_id: int | None = None,
) -> OnestopClaimRows:
    """The leaner variant of `claim_create_auto(source=ONESTOP, payee_kind=HOSPITAL)` for the
    cashier's real-time settle: the same checks (transition table, completeness, amount),
    the same claim, transition and notification, but nothing is written here. `number` (and
    `claim_id` when the caller reserved one) come from the caller, who holds the ledger lock
    and writes the rows in its transaction; a clash on the settlement id is an IntegrityError
    for the caller to handle."""
    data = _clean_data(
        {**stay, "benefit_code": benefit_code, "benefit_name": benefit_name}, PLATFORM_FIELDS
    )
    data["is_fixed"] = True
    claim = _claim_build(
        acting_user=None,
        member=member,
        scheme_year=scheme_year,
        to_status=S.APPROVED,
        source=ClaimSource.ONESTOP,
        data=data,
        enrollment=enrollment,
        payee_kind=PayeeKind.HOSPITAL,
        review_reason="",
        reason="",
    )
    for name, value in _amount_changes(amount).items():
        setattr(claim, name, value)
    _stamp(claim, S.APPROVED)
    claim.number = number
    claim.id = claim_id
    transition, audit = claim_event_objects(
        ClaimEvent(
            claim_id=claim_id,
            from_status="",
            to_status=S.APPROVED,
            after=claim_creation_after(
                status=S.APPROVED,
                number=number,
                source=ClaimSource.ONESTOP,
                amount_fen=claim.amount_fen,
            ),
        ),
        at=claim.status_changed_at,
    )
    transition.claim = claim
    text = _notice(claim, None, actor_kind(None), "")
    note = None
    if text:
        note = Notification(member=member, claim=claim, kind=f"claim_{claim.status}", text=text)
    return OnestopClaimRows(claim=claim, transition=transition, audit=audit, notification=note)
