"""`huzhu hospital-statement --month YYYY-MM [--hospital CODE] --out FILE.xlsx`.

Writes the monthly statement of what each hospital advanced at its cashier (one-stop
settlement): one sheet per hospital plus a summary. Then pay the hospitals with
`huzhu payment-batch create --payee hospital --source onestop --approved-from FIRST_DAY
--approved-to LAST_DAY` (printed). Exit 0 done, 2 usage error; the last line is the JSON
summary `{"month", "hospitals", "claims", "advanced", "awaiting_payment", "file"}`.
"""

import calendar
import datetime as dt
from pathlib import Path

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.core.money import fen_to_yuan
from huzhu.hospitals.models import Hospital
from huzhu.hospitals.statements import hospital_statements, statement_write_xlsx


class Command(HuzhuCommand):
    help = "Monthly statement per hospital of the one-stop settlements it advanced (xlsx)."

    def add_arguments(self, parser):
        parser.add_argument("--month", required=True, help="YYYY-MM")
        parser.add_argument("--hospital", default="", help="one hospital's code (default: all)")
        parser.add_argument("--out", required=True, help="the .xlsx file to write")

    def handle(self, *args, **options):
        try:
            month = dt.datetime.strptime(options["month"], "%Y-%m").date()
        except ValueError:
            raise UsageError(f"月份“{options['month']}”应为 YYYY-MM")
        out = Path(options["out"])
        if out.suffix.lower() != ".xlsx":
            raise UsageError("--out 应为 .xlsx 文件")
        try:
            statements = hospital_statements(month=month, hospital_code=options["hospital"])
        except Hospital.DoesNotExist:
            raise UsageError(f"医院{options['hospital']}未登记")
        try:
            statement_write_xlsx(statements, out)
        except OSError as exc:
            raise UsageError(f"无法写入 {out}: {exc.strerror or exc}")
        last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
        for st in statements:
            s = st.summary
            self.stdout.write(
                f"{st.hospital.code} {st.hospital.name}: {s['claims']}笔，垫付{s['advanced']}元，"
                f"待拨付{s['awaiting_payment']}元，拨付中{s['in_batch']}元，已拨付{s['paid']}元"
            )
        self.stdout.write(
            "拨付医院：huzhu payment-batch create --payee hospital --source onestop "
            f"--approved-from {month.isoformat()} --approved-to {last.isoformat()}"
        )
        self.write_summary(
            {
                "month": month.strftime("%Y-%m"),
                "hospitals": len(statements),
                "claims": sum(st.summary["claims"] for st in statements),
                "advanced": fen_to_yuan(sum(st.advanced_fen for st in statements)),
                "awaiting_payment": fen_to_yuan(
                    sum(st.total_of("awaiting_payment") for st in statements)
                ),
                "file": str(out),
            }
        )
