"""Fee receipts (会费到账): what each union paid toward its fee of a scheme year.

`fee_receipt_add` is the one writer (command and staff page call it); `fee_positions` reads
due / received / outstanding per union for the fee statement, the reports and dashboards.
Money is integer fen; a union may pay in several parts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Count, Sum
from django.utils import timezone

from huzhu.audit.services import audit_record
from huzhu.organizations.models import Role, Union

from .models import Enrollment, FeeReceipt, SchemeYear

__all__ = [
    "FEE_RECEIPT_ROLES",
    "FeePosition",
    "FeeReceiptError",
    "fee_positions",
    "fee_receipt_add",
    "fee_receipts_of",
    "may_add_fee_receipt",
]

# Who records money received: federation finance (and administrators).
FEE_RECEIPT_ROLES = frozenset({Role.FEDERATION_FINANCE, Role.ADMIN})


class FeeReceiptError(ValueError):
    """A refused receipt: `code` is stable, `field` names the input, `message` is Chinese."""

    def __init__(self, code: str, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


def fee_receipt_add(
    *,
    union: Union,
    scheme_year: SchemeYear,
    amount_fen: int,
    received_on: dt.date,
    acting_user,
    payer_name: str = "",
    note: str = "",
    voucher: bytes | None = None,
    voucher_name: str = "",
    today: dt.date | None = None,
) -> FeeReceipt:
    """Record one payment of `union` toward its `scheme_year` fee; audited.

    `acting_user` None is the platform (a command). A voucher (bank slip: JPEG, PNG, HEIC or
    PDF) is checked by content like members' papers and kept outside MEDIA_ROOT. Raises
    FeeReceiptError (codes `role_not_allowed`, `amount_not_positive`, `future_date`,
    `voucher_refused`) and writes nothing then.
    """
    if acting_user is not None and not (
        acting_user.is_superuser or getattr(acting_user, "role", None) in FEE_RECEIPT_ROLES
    ):
        raise FeeReceiptError("role_not_allowed", "只有市总财务可以登记会费到账")
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        raise FeeReceiptError("amount_not_positive", "到账金额必须大于0", field="amount")
    today = today or timezone.localdate()
    if received_on > today:
        raise FeeReceiptError(
            "future_date", f"到账日期{received_on:%Y-%m-%d}晚于今天", field="received_on"
        )
    checked = None
    if voucher:
        from huzhu.members.documents import DocumentError, document_check

        try:
            checked = document_check(voucher, name=voucher_name or "凭证")
        except DocumentError as exc:
            raise FeeReceiptError("voucher_refused", exc.message, field="voucher")
    receipt = FeeReceipt(
        union=union,
        scheme_year=scheme_year,
        amount_fen=amount_fen,
        received_on=received_on,
        payer_name=(payer_name or "").strip()[:128] or union.name,
        note=(note or "").strip(),
        entered_by=acting_user if getattr(acting_user, "is_authenticated", False) else None,
    )
    with transaction.atomic():
        if checked is not None:
            receipt.voucher_content_type = checked.content_type
            receipt.voucher_name = checked.original_name
            receipt.voucher_sha256 = checked.sha256
            receipt.voucher.save(
                f"voucher.{checked.extension}", ContentFile(checked.content), save=False
            )
        receipt.save()
        audit_record(
            actor=acting_user,
            action="fee_receipt.add",
            obj=receipt,
            after={
                "union": union.code,
                "year": scheme_year.year,
                "amount_fen": amount_fen,
                "received_on": received_on.isoformat(),
                "voucher_sha256": receipt.voucher_sha256,
            },
        )
    return receipt


@dataclass(frozen=True)
class FeePosition:
    """A union's fee for a year: due (from its active enrollments) and received."""

    union_id: int
    members: int
    due_fen: int
    received_fen: int
    receipts: int

    @property
    def outstanding_fen(self) -> int:
        """Still to pay; negative when the union paid more than is due (多缴)."""
        return self.due_fen - self.received_fen


def fee_positions(*, scheme_year, union_ids=None) -> dict[int, FeePosition]:
    """Due / received per union for one scheme year (unions with either), two aggregates.

    `union_ids` None = every union; otherwise only those unions (the caller's scope).
    """
    due = Enrollment.objects.filter(scheme_year=scheme_year, withdrawn_at__isnull=True)
    got = FeeReceipt.objects.filter(scheme_year=scheme_year)
    if union_ids is not None:
        due = due.filter(union_id__in=union_ids)
        got = got.filter(union_id__in=union_ids)
    rows: dict[int, dict] = {}
    # COUNT(*): the (scheme year, union, withdrawn_at, fee) index answers it alone.
    for r in due.values("union_id").annotate(n=Count("*"), fen=Sum("fee_fen")).order_by():
        rows[r["union_id"]] = {"members": r["n"], "due_fen": r["fen"] or 0}
    for r in got.values("union_id").annotate(n=Count("id"), fen=Sum("amount_fen")).order_by():
        entry = rows.setdefault(r["union_id"], {"members": 0, "due_fen": 0})
        entry["received_fen"] = r["fen"] or 0
        entry["receipts"] = r["n"]
    return {
        uid: FeePosition(
            union_id=uid,
            members=v["members"],
            due_fen=v["due_fen"],
            received_fen=v.get("received_fen", 0),
            receipts=v.get("receipts", 0),
        )
        for uid, v in rows.items()
    }


def fee_receipts_of(*, scheme_year, union_ids=None):
    """The receipts of a year (oldest first), optionally of some unions."""
    qs = FeeReceipt.objects.filter(scheme_year=scheme_year).select_related("union", "entered_by")
    if union_ids is not None:
        qs = qs.filter(union_id__in=union_ids)
    return qs.order_by("received_on", "id")


def may_add_fee_receipt(user) -> bool:
    return bool(
        user
        and user.is_authenticated
        and (user.is_superuser or getattr(user, "role", None) in FEE_RECEIPT_ROLES)
    )
