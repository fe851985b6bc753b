"""Demo: one payment batch paid (with one bank failure) and one open, for finance's pages.

Uses the approved claims the earlier demo steps made (settlement import); when there are too
few, it makes approved auto-claims through the claims core for demo members who have a bank
card and are enrolled this year. A second run changes nothing.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from huzhu.claims.error_codes import ClaimError
from huzhu.claims.models import Claim, ClaimSource, PayeeKind
from huzhu.claims.services import ClaimAmount, claim_create_auto
from huzhu.enrollment.models import Enrollment, SchemeYear
from huzhu.organizations.models import Union, User

from . import bankfile
from .error_codes import PaymentError
from .models import BatchState, PaymentBatch
from .selectors import QueueFilters, payable_claims
from .services import (
    batch_bank_rows,
    payment_batch_create,
    payment_batch_export,
    payment_batch_import_return,
    payment_batch_mark_sent,
)

WANTED = 12  # payable claims the demo wants before it makes its batches
DEMO_AMOUNTS = (86000, 125050, 43200, 298000, 15600, 67000, 230000, 9900, 51000, 178800)


def _make_claims(count: int, stdout) -> int:
    """Approved auto-claims for demo members with a bank card (settlement ids DEMO-PAY-n)."""
    today = timezone.localdate()
    year = (
        SchemeYear.objects.filter(start__lte=today, end__gte=today).first()
        or SchemeYear.objects.order_by("-year").first()
    )
    if year is None:
        stdout.write("payments demo: no scheme year, no claims to pay")
        return 0
    enrollments = (
        Enrollment.objects.filter(scheme_year=year, withdrawn_at__isnull=True)
        .exclude(member__bank_account_encrypted="")
        .exclude(member__bank_name="")
        .select_related("member")
        .order_by("member_id")[: count + 5]
    )
    discharge = min(max(year.start + dt.timedelta(days=40), year.start), year.end, today)
    made = 0
    for i, enrollment in enumerate(enrollments):
        if made >= count:
            break
        settlement_id = f"DEMO-PAY-{i + 1:04d}"
        if Claim.objects.filter(settlement_id=settlement_id).exists():
            continue
        amount = DEMO_AMOUNTS[i % len(DEMO_AMOUNTS)]
        try:
            claim_create_auto(
                member=enrollment.member,
                scheme_year=year,
                benefit_code="inpatient",
                benefit_name="住院医疗互助",
                stay={
                    "settlement_id": settlement_id,
                    "hospital_name": "嵊州市人民医院",
                    "admit_date": discharge - dt.timedelta(days=6),
                    "discharge_date": discharge,
                    "self_pay_in_policy_fen": amount * 2 + 50000,
                },
                amount=ClaimAmount(
                    amount_fen=amount, explanation="演示数据：按方案计算的住院医疗互助金"
                ),
                source=ClaimSource.AUTO,
                enrollment=enrollment,
            )
        except ClaimError as exc:
            stdout.write(f"payments demo: skipped {enrollment.member.name}: {exc.message}")
            continue
        made += 1
    return made


def _split_union(filters: QueueFilters) -> str:
    """A union (with its sub-unions) holding some but not all payable claims, so the demo's
    two batches both get claims; the first claim's union when none splits them."""
    claims = payable_claims(filters)
    total = claims.count()
    unions = Union.objects.filter(id__in=claims.values("union_id")).select_related("parent")
    candidates = sorted({u.parent for u in unions if u.parent and u.parent.parent_id}, key=str)
    for parent in candidates:
        count = payable_claims(QueueFilters(union_code=parent.code)).count()
        if 0 < count < total:
            return parent.code
    return claims.order_by("id").first().union.code


def run(*, stdout) -> None:
    if (
        PaymentBatch.objects.filter(state=BatchState.SETTLED).exists()
        and PaymentBatch.objects.filter(state=BatchState.OPEN).exists()
    ):
        stdout.write("payments demo: batches already there")
        return
    finance = User.objects.filter(username="finance").first()
    members = QueueFilters(payee_kind=PayeeKind.MEMBER)
    have = payable_claims(members).count()
    if have < WANTED:
        _make_claims(WANTED - have, stdout)

    with transaction.atomic():
        if not PaymentBatch.objects.filter(state=BatchState.SETTLED).exists():
            ids = list(payable_claims(members).order_by("id").values_list("id", flat=True))
            if len(ids) < 2:
                stdout.write("payments demo: not enough approved claims to pay")
                return
            first = payment_batch_create(
                acting_user=finance, filters=QueueFilters(union_code=_split_union(members))
            ).batch
            payment_batch_export(batch=first, file_format="xlsx", acting_user=finance)
            payment_batch_mark_sent(batch=first, acting_user=finance)
            rows = batch_bank_rows(first)
            outcomes = {rows[-1].seq: (False, "账户已销户")} if len(rows) > 1 else {}
            payment_batch_import_return(
                batch=first,
                data=bankfile.write_return_file(rows, outcomes),
                file_name=f"回盘_{first.number}.csv",
                acting_user=finance,
            )
            stdout.write(f"payments demo: batch {first.number} paid")
        if not PaymentBatch.objects.filter(state=BatchState.OPEN).exists():
            try:
                second = payment_batch_create(acting_user=finance, filters=members).batch
            except PaymentError as exc:
                stdout.write(f"payments demo: no open batch: {exc.message}")
            else:
                stdout.write(f"payments demo: batch {second.number} open")
