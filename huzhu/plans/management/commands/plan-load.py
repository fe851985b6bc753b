"""huzhu plan-load FILE: store a scheme year's plan file as a new version.

Exit codes: 0 loaded (or identical to a loaded version: nothing changed), 1 the plan is
refused (every problem listed, one per line), 2 the file cannot be read or bad usage.
The last output line is the JSON summary.
"""

from pathlib import Path

from django.contrib.auth import get_user_model

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.core.money import fen_to_yuan
from huzhu.plans.schema import PlanError, plan_read_file
from huzhu.plans.services import plan_load


class Command(HuzhuCommand):
    help = "加载年度互助方案文件（YAML）：相同文件再次加载不产生变化，修改后的文件成为新版本"

    def add_arguments(self, parser):
        parser.add_argument("file", help="方案文件（YAML, UTF-8）")
        parser.add_argument("--by", metavar="USERNAME", help="加载人（员工账号）")

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            text = plan_read_file(path)
        except PlanError as e:
            raise UsageError(e.problems[0].message)
        user = None
        if options["by"]:
            user = get_user_model().objects.filter(username=options["by"]).first()
            if user is None:
                raise UsageError(f"账号 {options['by']} 不存在")
        try:
            result = plan_load(source_text=text, source_name=path.name, acting_user=user)
        except PlanError as e:
            for problem in e.problems:
                self.stdout.write(f"{path}: {problem}")
            self.write_summary(
                {
                    "command": "plan-load",
                    "file": str(path),
                    "ok": False,
                    "problems": [{"path": p.path, "message": p.message} for p in e.problems],
                }
            )
            self.exit_refused()
            return
        v, plan = result.version, result.plan
        if result.created:
            self.stdout.write(
                f"{plan.year}年度方案已加载为第{v.version}版"
                + ("（新建互助年度）" if result.scheme_year_created else "")
                + (
                    f"；年度设置已更新：{'、'.join(result.scheme_year_updated)}"
                    if result.scheme_year_updated
                    else ""
                )
            )
            repriced = result.follow_ups.get("repriced")
            if repriced:
                self.stdout.write(
                    f"按新版本重新计算尚未发放的申请{repriced['recomputed']}件，"
                    f"金额变化{repriced['changed']}件，差额合计{repriced['difference']}元；"
                    f"金额已锁定或已发放的{repriced['kept_fixed']}件保持原版本"
                )
            again = result.follow_ups.get("readjudicated")
            if again and again["checked"]:
                self.stdout.write(
                    f"重新判定未获补助的结算记录{again['checked']}条：现可补助{again['covered']}条，"
                    f"新建申请{again['created']}件"
                )
        else:
            self.stdout.write(f"与已加载的{plan.year}年度方案第{v.version}版完全相同，未作改动")
        self.write_summary(
            {
                "command": "plan-load",
                "file": str(path),
                "ok": True,
                "year": plan.year,
                "version": v.version,
                "created": result.created,
                "scheme_year_created": result.scheme_year_created,
                "scheme_year_updated": result.scheme_year_updated,
                "content_hash": v.content_hash,
                "fee_per_member": fen_to_yuan(plan.fee_per_member_fen),
                "period": [plan.period.start.isoformat(), plan.period.end.isoformat()],
                **{
                    k: result.follow_ups[k]
                    for k in ("repriced", "readjudicated")
                    if k in result.follow_ups
                },
            }
        )
