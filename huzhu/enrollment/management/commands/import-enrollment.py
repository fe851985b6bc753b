"""`huzhu import-enrollment FILE --union CODE --year YYYY`: enroll a union's members from a sheet.

Exit codes: 0 done, 1 refused (every problem listed, one line each), 2 usage error or
unreadable file. The last output line is the JSON summary.

Consent: by default the run attests that every member of the file signed the current consent
text on their enrollment form (rows whose optional 同意书 column says 否 are recorded as not
consenting); `--no-consent-attestation` loads the file without that attestation (e.g. old
years' lists collected before the consent form existed).
"""

from datetime import date
from pathlib import Path

from django.utils import timezone

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.core.tabular import TabularError, read_file_bytes
from huzhu.enrollment.models import SchemeYear
from huzhu.enrollment.services import enrollment_import
from huzhu.organizations.models import Union


class Command(HuzhuCommand):
    help = (
        "Enroll a union's members for a scheme year from an Excel/CSV sheet (姓名, 身份证号, "
        "手机号, 开户银行, 银行账号, 参保日期). All-or-nothing unless --valid-only."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help=".xlsx, .xls or .csv (UTF-8 or GBK)")
        parser.add_argument("--union", required=True, help="union code (工会代码)")
        parser.add_argument("--year", required=True, type=int, help="scheme year, e.g. 2026")
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="import the valid rows and report the rest (default: refuse the whole file)",
        )
        parser.add_argument(
            "--enrolled-on",
            metavar="YYYY-MM-DD",
            help="enrollment date for rows without 参保日期 (default: today)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )
        parser.add_argument(
            "--no-consent-attestation",
            action="store_true",
            help="do not attest that the members signed the consent form (default: attest; "
            "rows whose 同意书 column says 否 are recorded as not consenting either way)",
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = read_file_bytes(path)
        except TabularError as exc:
            raise UsageError(exc.message)
        union = Union.objects.filter(code=options["union"].strip()).first()
        if union is None:
            raise UsageError(f"工会代码 {options['union']} 不存在")
        scheme_year = SchemeYear.objects.filter(year=options["year"]).first()
        if scheme_year is None:
            raise UsageError(f"{options['year']}年度尚未建立，请先建立互助年度（或加载年度方案）")
        enrolled_on = None
        today = timezone.localdate()
        if options["enrolled_on"]:
            try:
                enrolled_on = date.fromisoformat(options["enrolled_on"])
            except ValueError:
                raise UsageError(f"--enrolled-on {options['enrolled_on']}: 日期应为 YYYY-MM-DD")
            if enrolled_on > today:
                raise UsageError("--enrolled-on 不能晚于今天")
        try:
            result = enrollment_import(
                data=data,
                file_name=path.name,
                union=union,
                scheme_year=scheme_year,
                valid_only=options["valid_only"],
                enrolled_on=enrolled_on,
                dry_run=options["dry_run"],
                today=today,
                consent_attested=not options["no_consent_attestation"],
            )
        except TabularError as exc:
            raise UsageError(exc.message)

        where = f"表头在第{result.header_row}行"
        if result.encoding:
            where += f"，编码 {result.encoding}"
        self.stdout.write(f"{path.name}（{where}）→ {union.name} {scheme_year.year}年度")
        for problem in result.problems:
            self.stdout.write(problem.as_line())
        summary = result.summary
        if summary.get("not_consented"):
            self.stdout.write(
                f"{summary['not_consented']} 名职工未同意个人信息处理同意书："
                "其医保结算数据将转人工审核，不自动发放互助金"
            )
        if options["dry_run"]:
            self.stdout.write("试运行：未写入任何数据")
        elif not result.written:
            self.stdout.write(
                f"发现 {summary['errors']} 行有问题，整个文件未导入；"
                "改正后重新导入，或加 --valid-only 只导入无误的行"
            )
        self.write_summary(summary)
        if summary["errors"] and not options["valid_only"]:
            self.exit_refused()
