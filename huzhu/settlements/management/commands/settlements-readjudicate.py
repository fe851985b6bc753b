"""`huzhu settlements-readjudicate [--year YYYY]`: adjudicate stored refused records again.

Records refused as 未参保 (not_enrolled), 观察期内 (waiting_period) or 不在方案年度内
(out_of_period) are classified again under the loaded plans and today's enrollments; the
ones now covered become claims (once: a second run creates nothing). The same run happens
after every enrollment import and plan load, and nightly in the worker. One line per record
whose outcome changed (the first 50), then the JSON summary as the last line.
Exit codes: 0 done, 2 usage error (a year with no plan loaded).
"""

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.settlements.models import RecordStatus
from huzhu.settlements.plans import loaded_plans
from huzhu.settlements.readjudicate import settlements_readjudicate

SHOWN = 50


class Command(HuzhuCommand):
    help = (
        "Adjudicate again the stored settlement records refused as not enrolled, in the "
        "waiting period or out of period, and create the claims they now earn (once)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--year", type=int, metavar="YYYY", help="only records discharged in this year"
        )

    def handle(self, *args, **options):
        year = options["year"]
        if year is not None and year not in {lp.scheme_year.year for lp in loaded_plans()}:
            raise UsageError(f"--year {year}: 该年度尚未加载互助方案")
        result = settlements_readjudicate(years=[year] if year is not None else None)
        label = dict(RecordStatus.choices)
        for sid, before, now in result.changes[:SHOWN]:
            self.stdout.write(f"结算流水号 {sid}：{label[before]} → {label[now]}")
        if len(result.changes) > SHOWN:
            self.stdout.write(f"……另有{len(result.changes) - SHOWN}条记录的结果有变化")
        s = result.summary()
        self.stdout.write(
            f"重新判定{s['checked']}条未获补助的结算记录：{s['changed']}条结果有变化，"
            f"其中{s['covered']}条现可补助；新建申请{s['created']}件"
            f"（自动核准{s['approved']}件，合计{s['approved_amount']}元；"
            f"待复核{s['for_review']}件）"
        )
        self.write_summary(s)
