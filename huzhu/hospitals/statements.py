"""Monthly statement per hospital (医院垫付结算单): what it advanced at its cashier.

A statement lists the hospital's one-stop claims settled in the month (by settlement time,
in the platform's time zone): each stay, the amount the cashier deducted, its state now
(awaiting payment, in payment batch N, paid, cancelled) and the open recovery items of the
hospital's claims. The federation pays the hospital through a payment batch of payee kind
hospital: `huzhu payment-batch create --payee hospital --source onestop
--approved-from FIRST_DAY --approved-to LAST_DAY` puts exactly the statement's unpaid, not yet
batched claims into one row per hospital (its bank account from the hospital registry).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from django.utils import timezone

from huzhu.claims.models import (
    AdjustmentKind,
    AdjustmentStatus,
    Claim,
    ClaimSource,
    ClaimStatus,
    PayeeKind,
)
from huzhu.core.money import fen_to_yuan

from .models import Hospital

__all__ = [
    "HospitalStatement",
    "StatementLine",
    "hospital_statements",
    "month_bounds",
    "statement_write_xlsx",
]

S = ClaimStatus


@dataclass(frozen=True)
class StatementLine:
    claim_number: str
    settlement_id: str
    member_name: str
    id_number_masked: str
    admit_date: dt.date | None
    discharge_date: dt.date | None
    benefit: str
    amount_fen: int
    settled_at: dt.datetime
    state: str  # awaiting_payment / in_batch / paid / cancelled
    state_label: str
    batch_number: str = ""


@dataclass
class HospitalStatement:
    hospital: Hospital
    month: dt.date  # first day
    lines: list[StatementLine] = field(default_factory=list)
    recovery_open_fen: int = 0  # recoveries on the hospital's claims not yet netted

    @property
    def advanced_fen(self) -> int:
        """What the hospital deducted at its cashier this month (cancelled stays excluded)."""
        return sum(x.amount_fen for x in self.lines if x.state != "cancelled")

    def total_of(self, state: str) -> int:
        return sum(x.amount_fen for x in self.lines if x.state == state)

    @property
    def summary(self) -> dict:
        return {
            "hospital": self.hospital.code,
            "month": self.month.strftime("%Y-%m"),
            "stays": len({x.settlement_id for x in self.lines if x.state != "cancelled"}),
            "claims": sum(1 for x in self.lines if x.state != "cancelled"),
            "advanced": fen_to_yuan(self.advanced_fen),
            "awaiting_payment": fen_to_yuan(self.total_of("awaiting_payment")),
            "in_batch": fen_to_yuan(self.total_of("in_batch")),
            "paid": fen_to_yuan(self.total_of("paid")),
            "cancelled": sum(1 for x in self.lines if x.state == "cancelled"),
            "recovery_open": fen_to_yuan(self.recovery_open_fen),
        }


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a calendar month as aware datetimes in the current time zone."""
    first = month.replace(day=1)
    last_day = calendar.monthrange(first.year, first.month)[1]
    nxt = first + dt.timedelta(days=last_day)
    tz = timezone.get_current_timezone()
    return (
        dt.datetime.combine(first, dt.time.min, tzinfo=tz),
        dt.datetime.combine(nxt, dt.time.min, tzinfo=tz),
    )


_LABELS = {
    "awaiting_payment": "待拨付",
    "in_batch": "拨付中",
    "paid": "已拨付",
    "cancelled": "已撤销",
}


def hospital_statements(*, month: dt.date, hospital_code: str = "") -> list[HospitalStatement]:
    """One statement per hospital with one-stop claims settled in `month` (or just
    `hospital_code`'s, possibly empty). Raises Hospital.DoesNotExist for an unknown code."""
    start, end = month_bounds(month)
    hospitals = Hospital.objects.all()
    if hospital_code:
        hospitals = [Hospital.objects.get(code=hospital_code)]
    claims = (
        Claim.objects.filter(
            source=ClaimSource.ONESTOP,
            payee_kind=PayeeKind.HOSPITAL,
            approved_at__gte=start,
            approved_at__lt=end,
        )
        .select_related("member")
        .prefetch_related("payment_links__batch", "adjustments")
        .order_by("hospital_code", "approved_at", "id")
    )
    if hospital_code:
        claims = claims.filter(hospital_code=hospital_code)
    by_code: dict[str, HospitalStatement] = {
        h.code: HospitalStatement(hospital=h, month=month.replace(day=1)) for h in hospitals
    }
    for c in claims:
        st = by_code.get(c.hospital_code)
        if st is None:
            continue
        live = [link for link in c.payment_links.all() if not link.released]
        batch = live[0].batch.number if live else ""
        if c.status == S.VOID:
            state = "cancelled"
        elif c.status == S.PAID:
            state = "paid"
        elif batch:
            state = "in_batch"
        else:
            state = "awaiting_payment"
        st.lines.append(
            StatementLine(
                claim_number=c.number,
                settlement_id=c.settlement_id or "",
                member_name=c.member.name,
                id_number_masked=c.member.id_number_masked,
                admit_date=c.admit_date,
                discharge_date=c.discharge_date,
                benefit=c.benefit_name or c.benefit_code,
                amount_fen=c.amount_fen or 0,
                settled_at=timezone.localtime(c.approved_at),
                state=state,
                state_label=_LABELS[state],
                batch_number=batch,
            )
        )
        for item in c.adjustments.all():
            if item.kind == AdjustmentKind.RECOVERY and item.status == AdjustmentStatus.OPEN:
                st.recovery_open_fen += item.outstanding_fen
    out = list(by_code.values())
    if not hospital_code:
        out = [st for st in out if st.lines]
    return out


def statement_write_xlsx(statements: list[HospitalStatement], path: str | Path) -> None:
    """One sheet per hospital: its stays and a total, plus a summary sheet."""
    import xlsxwriter

    book = xlsxwriter.Workbook(str(path))
    bold = book.add_format({"bold": True})
    summary = book.add_worksheet("汇总")
    head = ["医院代码", "医院名称", "月份", "笔数", "垫付金额（元）", "待拨付", "拨付中", "已拨付"]
    summary.write_row(0, 0, [*head, "撤销笔数", "待扣回"], bold)
    for i, st in enumerate(statements, start=1):
        s = st.summary
        # Amounts as exact yuan text (no float on the money path).
        summary.write_row(
            i,
            0,
            [
                st.hospital.code,
                st.hospital.name,
                s["month"],
                s["claims"],
                s["advanced"],
                s["awaiting_payment"],
                s["in_batch"],
                s["paid"],
                s["cancelled"],
                s["recovery_open"],
            ],
        )
    used: set[str] = set()
    for st in statements:
        name = st.hospital.code[:31]
        while name in used:
            name = name[:28] + f"~{len(used)}"
        used.add(name)
        sheet = book.add_worksheet(name)
        sheet.write(
            0,
            0,
            f"{st.hospital.name}（{st.hospital.code}）一站式结算垫付明细 {st.month:%Y年%m月}",
            bold,
        )
        cols = [
            "申请编号",
            "结算编号",
            "姓名",
            "身份证号",
            "入院日期",
            "出院日期",
            "互助项目",
            "金额（元）",
            "结算时间",
            "状态",
            "拨付批次",
        ]
        sheet.write_row(2, 0, cols, bold)
        row = 3
        for x in st.lines:
            sheet.write_row(
                row,
                0,
                [
                    x.claim_number,
                    x.settlement_id,
                    x.member_name,
                    x.id_number_masked,
                    x.admit_date.isoformat() if x.admit_date else "",
                    x.discharge_date.isoformat() if x.discharge_date else "",
                    x.benefit,
                    fen_to_yuan(x.amount_fen),
                    x.settled_at.strftime("%Y-%m-%d %H:%M:%S"),
                    x.state_label,
                    x.batch_number,
                ],
            )
            row += 1
        sheet.write(row + 1, 6, "垫付合计（不含已撤销）", bold)
        sheet.write(row + 1, 7, fen_to_yuan(st.advanced_fen), bold)
        if st.recovery_open_fen:
            sheet.write(row + 2, 6, "待扣回（已拨付后撤销或调减）", bold)
            sheet.write(row + 2, 7, fen_to_yuan(st.recovery_open_fen), bold)
        sheet.set_column(0, 1, 18)
        sheet.set_column(3, 3, 20)
        sheet.set_column(8, 8, 20)
    book.close()
