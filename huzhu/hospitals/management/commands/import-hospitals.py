"""`huzhu import-hospitals FILE`: load or update the hospital registry from a sheet.

Columns: 医院代码 code, 医院名称 name, 医院等级 level, 开户银行 bank_name, 银行账号 bank_account.
Exit codes: 0 done, 1 refused (problems listed), 2 usage error or unreadable file; the last
output line is `{"rows": N, "created": N, "updated": N, "unchanged": N, "errors": N}`.
"""

from pathlib import Path

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.core.tabular import TabularError
from huzhu.hospitals.imports import hospital_import


class Command(HuzhuCommand):
    help = "Load the hospital registry from an Excel/CSV sheet (医院代码, 医院名称, 医院等级, 开户银行, 银行账号)."

    def add_arguments(self, parser):
        parser.add_argument("file", help=".xlsx, .xls or .csv (UTF-8 or GBK)")
        parser.add_argument(
            "--valid-only",
            action="store_true",
            help="import the valid rows and report the rest (default: refuse the whole file)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and report, write nothing"
        )

    def handle(self, *args, **options):
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(f"无法读取文件 {path}: {exc.strerror or exc}")
        try:
            result = hospital_import(
                data=data,
                file_name=path.name,
                valid_only=options["valid_only"],
                dry_run=options["dry_run"],
            )
        except TabularError as exc:
            raise UsageError(exc.message)
        for problem in result.problems:
            self.stdout.write(problem.as_line())
        if options["dry_run"]:
            self.stdout.write("试运行：未写入任何数据")
        elif not result.written:
            self.stdout.write(
                f"发现 {result.summary['errors']} 行有问题，整个文件未导入；"
                "改正后重新导入，或加 --valid-only 只导入无误的行"
            )
        self.write_summary(result.summary)
        if result.summary["errors"] and not options["valid_only"]:
            self.exit_refused()
