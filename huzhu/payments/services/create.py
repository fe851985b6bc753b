"""Creating a payment batch: lock the payable claims, one row per payee, net recoveries."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huzhu.audit.services import audit_record
from huzhu.claims.models import (
    AdjustmentKind,
    PayeeKind,
)
from huzhu.core.bulk import bulk_insert
from huzhu.core.crypto import decrypt_text, encrypt_text
from huzhu.core.tabular import RowProblem
from huzhu.members.fields import FieldError, normalize_bank_account

from .. import bankfile
from ..accounts import AccountDecryptError, decrypt_many
from ..error_codes import PaymentError
from ..models import (
    LinkState,
    PaymentBatch,
    PaymentLeftOut,
    PaymentRow,
    PaymentRowAdjustment,
    PaymentRowClaim,
    RowResult,
)
from ..selectors import (
    QueueFilters,
    hospital_payees,
    open_adjustments,
    payable_claims,
    payable_top_ups,
)
from .common import (
    E,
    _require_finance,
    _totals,
)

# --- create --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeftOut:
    name: str
    claim_numbers: list[str]
    amount_fen: int
    code: str
    reason: str
    member_id: int | None = None
    hospital_code: str = ""


@dataclass
class _Payee:
    key: object  # member id or hospital code
    claims: list[tuple[int, str, int]] = field(default_factory=list)  # (id, number, fen)
    top_ups: list[tuple[int, int]] = field(default_factory=list)  # (adjustment id, fen)
    name: str = ""
    bank_name: str = ""
    account: str = ""
    account_encrypted: str = ""

    @property
    def gross_fen(self) -> int:
        return sum(c[2] for c in self.claims) + sum(t[1] for t in self.top_ups)

    @property
    def numbers(self) -> list[str]:
        return [c[1] for c in self.claims]


def _member_payees(
    payees: dict[object, _Payee],
    details: dict[int, tuple[str, str, str]],
    failed_before: set[int],
) -> list[LeftOut]:
    """Fill in member bank details (`details`: member id -> name, bank name, encrypted
    account); return the members left out (no valid account, or a failed payment to a card
    they have not changed since: `failed_before` holds the members with a failed claim)."""
    left: list[LeftOut] = []
    found = [(member_id, *details[member_id]) for member_id in sorted(payees)]
    clear = _decrypt_each([encrypted for *_, encrypted in found])
    for (member_id, name, bank_name, encrypted), account in zip(found, clear, strict=True):
        p = payees[member_id]
        p.name, p.bank_name = name, (bank_name or "").strip()
        code = reason = ""
        if not encrypted:
            code, reason = "no_bank_account", _("未登记银行账号")
        elif account is None:
            code, reason = "undecryptable", _("银行账号无法解密（密钥不符）")
        else:
            try:
                p.account = normalize_bank_account(account)
                p.account_encrypted = encrypted
            except FieldError as exc:
                code = exc.code
                reason = _("银行账号无效：%(m)s") % {"m": exc.message}
        if not code and not p.bank_name:
            code, reason = "no_bank_name", _("未登记开户银行")
        if code:
            left.append(_left(p, code, reason, member_id=member_id))
    # A member whose last payment failed and who has not changed the card since waits.
    left_ids = {lo.member_id for lo in left}
    for member_id in sorted(failed_before - left_ids):
        p = payees[member_id]
        last = (
            PaymentRow.objects.filter(member_id=member_id, result=RowResult.FAILED)
            .order_by("-result_at", "-id")
            .first()
        )
        if last is not None and last.account == p.account and last.bank_name == p.bank_name:
            left.append(
                _left(
                    p,
                    "card_not_updated",
                    _("上次发放失败（%(r)s），银行卡信息尚未更新") % {"r": last.failure_reason},
                    member_id=member_id,
                )
            )
    return left


def _decrypt_each(tokens: list[str]) -> list[str | None]:
    """Clear accounts for stored tokens ("" stays ""); None where a token cannot be read."""
    present = [t for t in tokens if t]
    try:
        clear = dict(zip(present, decrypt_many(present), strict=True))
    except AccountDecryptError:
        clear = {}
        for t in present:
            try:
                clear[t] = decrypt_text(t)
            except ValueError:
                clear[t] = None
    return [clear[t] if t else "" for t in tokens]


def _hospital_payees(payees: dict[object, _Payee], names: dict[str, str]) -> list[LeftOut]:
    left: list[LeftOut] = []
    registry = hospital_payees(payees.keys())
    for code in sorted(payees):
        p = payees[code]
        h = registry.get(code)
        p.name = h.name if h else names.get(code, code)
        if h is None or not h.account:
            left.append(_left(p, "no_hospital_account", _("医院未登记收款账户"), hospital=code))
            continue
        try:
            p.account = normalize_bank_account(h.account)
        except FieldError as exc:
            left.append(
                _left(p, exc.code, _("银行账号无效：%(m)s") % {"m": exc.message}, hospital=code)
            )
            continue
        p.bank_name = h.bank_name
        if not p.bank_name:
            left.append(_left(p, "no_bank_name", _("未登记开户银行"), hospital=code))
            continue
        p.account_encrypted = encrypt_text(p.account)
    return left


def _left(p: _Payee, code: str, reason: str, *, member_id=None, hospital="") -> LeftOut:
    return LeftOut(
        name=p.name,
        claim_numbers=p.numbers,
        amount_fen=p.gross_fen,
        code=code,
        reason=reason,
        member_id=member_id,
        hospital_code=hospital,
    )


@dataclass
class CreateResult:
    batch: PaymentBatch
    left_out: list[LeftOut]


def payment_batch_create(
    *, acting_user, filters: QueueFilters, now: dt.datetime | None = None
) -> CreateResult:
    """Put the payable claims that pass `filters` into a new open batch: one row per payee.

    Claims of 0.00 never enter; payees without a valid bank account are left out with a
    reason (their claims stay in the queue). For member batches, open top-ups are paid with
    the member's row and open recoveries (追回) are netted from it, oldest first, partly if
    need be; a row netted to 0.00 is settled by offset (not sent to the bank).
    Raises PaymentError(NOTHING_TO_PAY) when nothing can be paid (the left-out reasons are
    in `.problems`).
    """
    _require_finance(acting_user)
    filters = filters.validated()
    now = now or timezone.now()
    member_kind = filters.payee_kind == PayeeKind.MEMBER
    with transaction.atomic():
        # 1. Lock the candidates in id order (waits for a concurrent creator to commit) …
        candidates = payable_claims(filters)
        locked = list(
            candidates.select_for_update(of=("self",)).order_by("id").values_list("id", flat=True)
        )
        top_up_locked = list(
            payable_top_ups(filters)
            .select_for_update(of=("self",))
            .order_by("id")
            .values_list("id", flat=True)
        )
        # 2. … then re-read which are still free: a new statement sees what the concurrent
        # creator committed, so a claim it took is not taken twice.
        locked_set = set(locked)
        member_fields = ("member__name", "member__bank_name", "member__bank_account_encrypted")
        claim_rows = [
            r
            for r in payable_claims(filters)
            .order_by("id")
            .values_list(
                "id",
                "number",
                "member_id",
                "hospital_code",
                "hospital_name",
                "amount_fen",
                "payment_failed_at",
                *member_fields,
            )
            if r[0] in locked_set
        ]
        top_up_set = set(top_up_locked)
        top_up_rows = [
            r
            for r in payable_top_ups(filters)
            .order_by("id")
            .values_list("id", "member_id", "amount_fen", "settled_amount_fen", *member_fields)
            if r[0] in top_up_set
        ]

        payees: dict[object, _Payee] = {}
        hospital_names: dict[str, str] = {}
        member_details: dict[int, tuple[str, str, str]] = {}
        failed_before: set[int] = set()
        for claim_id, number, member_id, h_code, h_name, amount, failed_at, *m in claim_rows:
            key = member_id if member_kind else h_code
            payee = payees.get(key)
            if payee is None:
                payee = payees[key] = _Payee(key)
            payee.claims.append((claim_id, number, amount))
            member_details[member_id] = tuple(m)
            if failed_at is not None:
                failed_before.add(member_id)
            if not member_kind:
                hospital_names.setdefault(h_code, h_name)
        for adj_id, member_id, amount, settled, *m in top_up_rows:
            payee = payees.get(member_id)
            if payee is None:
                payee = payees[member_id] = _Payee(member_id)
            payee.top_ups.append((adj_id, amount - settled))
            member_details[member_id] = tuple(m)
        left = (
            _member_payees(payees, member_details, failed_before)
            if member_kind
            else _hospital_payees(payees, hospital_names)
        )
        for lo in left:
            payees.pop(lo.member_id if member_kind else lo.hospital_code, None)
        if not payees:
            problems = [RowProblem(0, lo.name, lo.code, f"{lo.name}：{lo.reason}") for lo in left]
            raise PaymentError(
                E.NOTHING_TO_PAY,
                _("没有符合条件、可以发放的申请。")
                + (_("另有%(n)s名收款人因账户问题未纳入。") % {"n": len(left)} if left else ""),
                problems=problems,
            )

        # 3. Recoveries owed by these members, netted oldest first (locked, by id).
        recoveries: dict[int, list[tuple[int, int]]] = defaultdict(list)
        if member_kind:
            # Open recoveries are few: lock them all (id order), then re-read which are still
            # free (as for the claims above) and keep this batch's members'.
            list(
                open_adjustments(AdjustmentKind.RECOVERY)
                .select_for_update(of=("self",))
                .order_by("id")
                .values_list("id", flat=True)
            )
            for adj_id, member_id, amount, settled in (
                open_adjustments(AdjustmentKind.RECOVERY)
                .order_by("id")
                .values_list("id", "member_id", "amount_fen", "settled_amount_fen")
            ):
                if member_id in payees:
                    recoveries[member_id].append((adj_id, amount - settled))

        batch = PaymentBatch.objects.create(
            number=f"tmp-{uuid.uuid4().hex}"[:32],
            payee_kind=filters.payee_kind,
            filters=filters.as_dict(),
            created_by=acting_user,
        )
        batch.number = f"DF{timezone.localtime(now):%Y%m%d}-{batch.pk:05d}"

        order = sorted(payees.values(), key=lambda p: (p.name, str(p.key)))
        rows, netted_parts = [], []
        bank_seq, offset_rows = 0, []
        for p in order:
            gross = p.gross_fen
            netted, parts = 0, []
            for adj_id, outstanding in recoveries.get(p.key, []):
                take = min(outstanding, gross - netted)
                if take <= 0:
                    break
                parts.append((adj_id, take))
                netted += take
            amount = gross - netted
            numbers = p.numbers
            record = [p, gross, netted, amount, numbers, parts]
            if amount > 0:
                bank_seq += 1
                rows.append((bank_seq, record))
            else:
                offset_rows.append(record)
            netted_parts.append(parts)
        for record in offset_rows:
            bank_seq += 1
            rows.append((bank_seq, record))

        row_values = []
        for seq, (p, gross, netted, amount, numbers, _parts) in rows:
            memo_numbers = numbers or [_("补发")]
            row_values.append(
                (
                    batch.pk,
                    seq,
                    p.key if member_kind else None,
                    "" if member_kind else p.key,
                    p.name,
                    p.bank_name,
                    p.account_encrypted,
                    p.account[-4:],
                    gross,
                    netted,
                    amount,
                    ",".join(numbers),
                    bankfile.memo_text(memo_numbers),
                    RowResult.PENDING if amount > 0 else RowResult.OFFSET,
                    "",
                )
            )
        row_ids = bulk_insert(
            PaymentRow,
            [
                "batch_id",
                "seq",
                "member_id",
                "hospital_code",
                "name",
                "bank_name",
                "account_encrypted",
                "account_last4",
                "gross_fen",
                "netted_fen",
                "amount_fen",
                "claim_numbers",
                "memo",
                "result",
                "failure_reason",
            ],
            row_values,
        )
        claim_links, adjustment_links = [], []
        for row_id, (_seq, (p, _g, _n, _a, _nums, parts)) in zip(row_ids, rows, strict=True):
            for claim_id, _number, fen in p.claims:
                claim_links.append((batch.pk, row_id, claim_id, fen, False))
            for adj_id, fen in p.top_ups:
                adjustment_links.append(
                    (batch.pk, row_id, adj_id, AdjustmentKind.TOP_UP, fen, LinkState.PENDING)
                )
            for adj_id, fen in parts:
                adjustment_links.append(
                    (batch.pk, row_id, adj_id, AdjustmentKind.RECOVERY, fen, LinkState.PENDING)
                )
        try:
            with transaction.atomic():
                bulk_insert(
                    PaymentRowClaim,
                    ["batch_id", "row_id", "claim_id", "amount_fen", "released"],
                    claim_links,
                )
                bulk_insert(
                    PaymentRowAdjustment,
                    ["batch_id", "row_id", "adjustment_id", "kind", "amount_fen", "state"],
                    adjustment_links,
                )
        except Exception as exc:  # the database's own guard against a double payment
            # COPY runs on the raw psycopg cursor: its UniqueViolation is not Django's.
            if not (isinstance(exc, IntegrityError) or getattr(exc, "sqlstate", "") == "23505"):
                raise
            raise PaymentError(
                E.CLAIMS_CHANGED,
                _("部分申请已被另一批次占用，请刷新后重试。（%(e)s）") % {"e": exc},
            ) from exc
        PaymentLeftOut.objects.bulk_create(
            [
                PaymentLeftOut(
                    batch=batch,
                    member_id=lo.member_id,
                    hospital_code=lo.hospital_code,
                    name=lo.name,
                    claim_numbers=",".join(lo.claim_numbers),
                    amount_fen=lo.amount_fen,
                    code=lo.code,
                    reason=lo.reason,
                )
                for lo in left
            ]
        )
        batch.row_count = len(rows)
        batch.claim_count = len(claim_links)
        batch.gross_fen = sum(r[1][1] for r in rows)
        batch.netted_fen = sum(r[1][2] for r in rows)
        batch.total_fen = batch.gross_fen - batch.netted_fen
        batch.left_out_count = len(left)
        batch.save()
        audit_record(
            actor=acting_user,
            action="payment_batch.create",
            obj=batch,
            after={
                **_totals(batch),
                "filters": batch.filters,
                "top_ups": sum(1 for a in adjustment_links if a[3] == AdjustmentKind.TOP_UP),
                "recoveries_netted": sum(
                    1 for a in adjustment_links if a[3] == AdjustmentKind.RECOVERY
                ),
                "offset_rows": len(offset_rows),
            },
        )
    return CreateResult(batch=batch, left_out=left)
