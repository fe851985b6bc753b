"""huzhu simulate --plan PLAN.yaml --enrollments ENR --settlements SET [--out OUT.csv]

Prices one or more plans on enrollment and settlement files. Never touches the database.
Exit code 2 for a malformed plan or an unreadable file, 0 otherwise (bad rows become
`invalid` outcomes with a reason).
"""

from __future__ import annotations

import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.core.tabular import TabularError, read_frame
from huzhu.plans.rules.outcomes import STATUS_LABELS, OutcomeStatus
from huzhu.plans.rules.records import (
    SETTLEMENT_HEADERS,
    RecordsFormatError,
    column_plan,
    used_columns,
)
from huzhu.plans.schema import PlanError, plan_from_file, plan_move_to_year
from huzhu.plans.simulation import ENROLLMENT_COLUMNS, coverage_from_enrollments, simulate


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - _width(text))
    return gap + text if right else text + gap


def _coverages(path: str, years: list[int]):
    """(enrollment table, {year: (coverage, stats) or the RecordsFormatError}), or
    (TabularError, {}) when the file cannot be read."""
    try:
        enrollments = read_frame(path, aliases={c: c for c in ENROLLMENT_COLUMNS})
    except TabularError as e:
        return e, {}
    coverages: dict = {}
    for year in years:
        try:
            coverages[year] = coverage_from_enrollments(enrollments.frame, year)
        except RecordsFormatError as e:
            coverages[year] = e
    return enrollments, coverages


class Command(HuzhuCommand):
    help = "用互助方案模拟测算：按参保名单和医保结算记录计算每条记录的补助（不读写数据库）"
    requires_system_checks: list = []
    requires_migrations_checks = False

    def add_arguments(self, parser):
        parser.add_argument(
            "--plan", action="append", required=True, help="方案文件（YAML），可多次给出"
        )
        parser.add_argument("--enrollments", required=True, help="参保名单（CSV 或 .xlsx）")
        parser.add_argument("--settlements", required=True, help="医保结算记录（CSV 或 .xlsx）")
        parser.add_argument(
            "--out", action="append", default=[], help="结果CSV，每个方案一个，顺序相同"
        )
        parser.add_argument(
            "--as-year", type=int, default=None, help="把方案年度移到该年（用上一年数据测算）"
        )
        parser.add_argument("--engine", choices=["bulk", "row"], default="bulk", help="计算引擎")

    def handle(self, *args, **options):
        started = time.perf_counter()
        plan_paths: list[str] = options["plan"]
        outs: list[str] = options["out"]
        if outs and len(outs) != len(plan_paths):
            raise UsageError(
                f"--out 应给出 {len(plan_paths)} 次（每个 --plan 一个）或不给，实际 {len(outs)} 次"
            )
        plans = []
        for path in plan_paths:
            try:
                plan, _ = plan_from_file(path)
            except PlanError as e:
                raise UsageError(
                    f"方案文件 {path} 有误：\n" + "\n".join(f"  {p}" for p in e.problems)
                )
            if options["as_year"] is not None:
                plan = plan_move_to_year(plan, options["as_year"])
            plans.append((path, plan))
        years = sorted({plan.year for _, plan in plans})
        bases = sorted({plan.inpatient.base for _, plan in plans})
        # The enrollments (and each year's coverage) are read in a second thread while
        # this one reads the settlements; problems are reported in the same order as if
        # one came after the other.
        with ThreadPoolExecutor(max_workers=1) as pool:
            enrolled = pool.submit(_coverages, options["enrollments"], years)
            try:
                settlements = read_frame(
                    options["settlements"],
                    aliases=SETTLEMENT_HEADERS,
                    columns=lambda header: used_columns(header, amount_fields=bases),
                )
                settlements_error = None
            except (TabularError, RecordsFormatError) as e:
                settlements_error = e
            enrollments, coverages = enrolled.result()
        if isinstance(enrollments, TabularError):
            raise UsageError(enrollments.message)
        if isinstance(settlements_error, TabularError):
            raise UsageError(settlements_error.message)
        if isinstance(settlements_error, RecordsFormatError):
            raise UsageError(f"{options['settlements']}：{settlements_error.message}")
        try:
            for _, plan in plans:
                column_plan(settlements.frame.columns, need=[plan.inpatient.base])
        except RecordsFormatError as e:
            raise UsageError(f"{options['settlements']}：{e.message}")

        results = []
        for index, (path, plan) in enumerate(plans):
            coverage = coverages[plan.year]
            if isinstance(coverage, RecordsFormatError):
                raise UsageError(f"{options['enrollments']}：{coverage.message}")
            coverage, stats = coverage
            try:
                result = simulate(
                    plan,
                    settlements.frame,
                    coverage,
                    members_enrolled=stats.members,
                    engine=options["engine"],
                    out=outs[index] if outs else None,
                )
            except OSError as e:
                raise UsageError(f"无法写入 {outs[index]}：{e}")
            summary = {"plan_file": path, **result.summary}
            summary["enrollment_rows_for_year"] = stats.rows_for_year
            summary["enrollment_rows_rejected"] = stats.rejected
            if outs:
                summary["out"] = outs[index]
            results.append(summary)

        self._print_table(results, settlements, enrollments)
        self.write_summary(
            {
                "command": "simulate",
                "engine": options["engine"],
                "settlements_file": options["settlements"],
                "settlements_encoding": settlements.encoding,
                "enrollments_file": options["enrollments"],
                "enrollments_encoding": enrollments.encoding,
                "rows": settlements.frame.height,
                "seconds": round(time.perf_counter() - started, 3),
                "plans": results,
            }
        )

    def _print_table(self, results, settlements, enrollments) -> None:
        w = self.stdout.write
        w(
            f"结算记录 {settlements.frame.height} 行（{settlements.path}，编码 {settlements.encoding}）；"
            f"参保名单 {enrollments.frame.height} 行（{enrollments.path}，编码 {enrollments.encoding}）"
        )
        lines: list[tuple[str, list[str]]] = [
            ("方案", [r["plan"] for r in results]),
            ("年度", [f"{r['year']}（{r['period'][0]}至{r['period'][1]}）" for r in results]),
            ("参保人数", [str(r["members_enrolled"]) for r in results]),
            ("参保名单中被拒行数", [str(r["enrollment_rows_rejected"]) for r in results]),
        ]
        for status in OutcomeStatus:
            lines.append(
                (
                    f"{STATUS_LABELS[status]}（{status.value}）",
                    [str(r["status_counts"][status.value]) for r in results],
                )
            )
        lines.append(("补助总额（元）", [r["payout_total"] for r in results]))
        codes = list(dict.fromkeys(c for r in results for c in r["payout_by_benefit"]))
        for code in codes:
            lines.append(
                (f"  其中 {code}", [r["payout_by_benefit"].get(code, "—") for r in results])
            )
        lines += [
            ("获补助人数", [str(r["members_paid"]) for r in results]),
            ("人均补助（元）", [r["mean_per_paid_member"] for r in results]),
            ("补助中位数（元）", [r["median_per_paid_member"] for r in results]),
            ("会费收入（元）", [r["fee_income"] for r in results]),
            ("赔付率", [r["loss_ratio"] or "—" for r in results]),
        ]
        if any("out" in r for r in results):
            lines.append(("结果文件", [r.get("out", "") for r in results]))
        label_w = max(_width(label) for label, _ in lines) + 2
        col_w = [max(_width(vals[i]) for _, vals in lines) + 2 for i in range(len(results))]
        for label, vals in lines:
            w(
                _pad(label, label_w)
                + "".join(_pad(v, col_w[i], right=True) for i, v in enumerate(vals))
            )
