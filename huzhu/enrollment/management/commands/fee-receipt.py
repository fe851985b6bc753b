"""`huzhu fee-receipt add --union CODE --year YYYY --amount YUAN --date DATE`: fee received.

    huzhu fee-receipt add --union CODE --year YYYY --amount YUAN --date YYYY-MM-DD
                          [--payer NAME] [--note TEXT] [--voucher FILE]
    huzhu fee-receipt list --year YYYY [--union CODE]

`add` records one payment of a union toward its fee of a scheme year (partial payments are
several receipts) as the platform (audited); the last line is the JSON summary with the
union's due / received / outstanding after it. Exit 1 when the receipt is refused, 2 for an
unknown union or year, a bad amount or date, or an unreadable voucher file.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.core.money import MoneyError, fen_to_yuan, yuan_to_fen
from huzhu.enrollment.models import SchemeYear
from huzhu.enrollment.receipts import (
    FeeReceiptError,
    fee_positions,
    fee_receipt_add,
    fee_receipts_of,
)
from huzhu.organizations.models import Union


def _union(code: str) -> Union:
    union = Union.objects.filter(code=(code or "").strip()).first()
    if union is None:
        raise UsageError(f"工会代码 {code} 不存在")
    return union


def _year(year: int) -> SchemeYear:
    scheme_year = SchemeYear.objects.filter(year=year).first()
    if scheme_year is None:
        raise UsageError(f"{year}年度不存在（先用 plan-load 载入该年度方案）")
    return scheme_year


class Command(HuzhuCommand):
    help = "Fee receipts (会费到账): record a union's payment toward its fee of a scheme year."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        add = sub.add_parser("add", help="record one payment")
        add.add_argument("--union", required=True, help="union code")
        add.add_argument("--year", required=True, type=int, help="scheme year, e.g. 2026")
        add.add_argument("--amount", required=True, help="amount received in yuan, e.g. 1200.00")
        add.add_argument("--date", required=True, help="day received, YYYY-MM-DD")
        add.add_argument("--payer", default="", help="payer's account name (default the union)")
        add.add_argument("--note", default="")
        add.add_argument("--voucher", default="", help="bank slip: image or PDF")
        lst = sub.add_parser("list", help="the receipts of a year")
        lst.add_argument("--year", required=True, type=int)
        lst.add_argument("--union", default="", help="union code")

    def handle(self, *args, **options):
        if options["action"] == "list":
            return self.do_list(options)
        union = _union(options["union"])
        scheme_year = _year(options["year"])
        try:
            amount_fen = yuan_to_fen(options["amount"])
        except MoneyError as exc:
            raise UsageError(f"--amount：{exc.message}")
        try:
            received_on = dt.date.fromisoformat(options["date"])
        except ValueError:
            raise UsageError(f"--date：日期“{options['date']}”应为 YYYY-MM-DD")
        voucher = None
        if options["voucher"]:
            path = Path(options["voucher"])
            try:
                voucher = path.read_bytes()
            except OSError as exc:
                raise UsageError(f"无法读取文件 {path}: {exc.strerror or exc}")
        try:
            receipt = fee_receipt_add(
                union=union,
                scheme_year=scheme_year,
                amount_fen=amount_fen,
                received_on=received_on,
                acting_user=None,
                payer_name=options["payer"],
                note=options["note"],
                voucher=voucher,
                voucher_name=Path(options["voucher"]).name if voucher else "",
            )
        except FeeReceiptError as exc:
            self.stdout.write(f"{exc.field or 'receipt'}: {exc.message}")
            self.write_summary({"refused": True, "code": exc.code, "field": exc.field})
            self.exit_refused()
        pos = fee_positions(scheme_year=scheme_year, union_ids=[union.id])[union.id]
        self.stdout.write(
            f"{union.name}（{union.code}）{scheme_year.year}年度：到账 {fen_to_yuan(amount_fen)} 元"
        )
        self.write_summary(
            {
                "receipt": receipt.pk,
                "union": union.code,
                "year": scheme_year.year,
                "amount": fen_to_yuan(amount_fen),
                "date": received_on.isoformat(),
                "due": fen_to_yuan(pos.due_fen),
                "received": fen_to_yuan(pos.received_fen),
                "outstanding": fen_to_yuan(pos.outstanding_fen),
                "voucher": bool(receipt.voucher),
            }
        )

    def do_list(self, options):
        scheme_year = _year(options["year"])
        union_ids = [_union(options["union"]).id] if options["union"] else None
        receipts = list(fee_receipts_of(scheme_year=scheme_year, union_ids=union_ids))
        for r in receipts:
            self.stdout.write(
                f"{r.received_on:%Y-%m-%d}  {r.union.code}  {fen_to_yuan(r.amount_fen):>14}  "
                f"{r.payer_name}  {r.note}"
            )
        self.write_summary(
            {
                "year": scheme_year.year,
                "receipts": len(receipts),
                "received": fen_to_yuan(sum(r.amount_fen for r in receipts)),
            }
        )
