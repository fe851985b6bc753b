"""`huzhu report NAME --year YYYY [--union CODE] [--by DIMENSION] [--format table|json|xlsx] [--out FILE]`.

Reports: fund, payouts, zero-trip, turnaround, rejections, caps, enrollment (see
huzhu/reports/registry.py). `--format table` (default) prints a text table; `json` prints the
figures as one JSON line (the last line: for payouts exactly
`{"report", "year", "by", "rows": [{"key", "claims", "amount"}], "total": {...}}`); `xlsx`
writes a workbook with native Excel charts to --out (required) and prints a JSON summary.
Run by the platform: every union is visible; `--union` narrows to that union's subtree.
Exit 2 for an unknown report, year, union or dimension, or a file that cannot be written.
"""

from __future__ import annotations

import json
from pathlib import Path

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.reports.base import ReportError
from huzhu.reports.registry import REPORTS, report_make
from huzhu.reports.render import report_json, report_text, report_xlsx


class Command(HuzhuCommand):
    help = "Reports of a scheme year: " + ", ".join(REPORTS)

    def add_arguments(self, parser):
        parser.add_argument("name", help="one of: " + ", ".join(REPORTS))
        parser.add_argument("--year", type=int, required=True, help="scheme year, e.g. 2026")
        parser.add_argument("--union", default="", help="union code (its sub-unions included)")
        parser.add_argument(
            "--by", default="", help="dimension (payouts: benefit, union, month, hospital, channel)"
        )
        parser.add_argument("--format", choices=["table", "json", "xlsx"], default="table")
        parser.add_argument("--out", default="", help="file to write (required for xlsx)")

    def handle(self, *args, **options):
        fmt = options["format"]
        if fmt == "xlsx" and not options["out"]:
            raise UsageError("--format xlsx 需要 --out FILE")
        try:
            report = report_make(
                options["name"],
                year=options["year"],
                union_code=options["union"] or None,
                by=options["by"] or None,
            )
        except ReportError as exc:
            raise UsageError(exc.message)
        if fmt == "table":
            text = report_text(report)
        elif fmt == "json":
            text = json.dumps(report_json(report), ensure_ascii=False)
        else:
            text = None
        if fmt == "xlsx" or options["out"]:
            data = report_xlsx(report) if fmt == "xlsx" else (text + "\n").encode()
            out = Path(options["out"])
            try:
                out.write_bytes(data)
            except OSError as exc:
                raise UsageError(f"无法写入文件 {out}: {exc.strerror or exc}")
            self.write_summary(
                {
                    "report": report.name,
                    "year": report.year,
                    "by": report.by,
                    "union": report.union_code,
                    "format": fmt,
                    "out": str(out),
                    "bytes": len(data),
                }
            )
            return
        self.stdout.write(text)
