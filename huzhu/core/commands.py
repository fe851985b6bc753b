"""Shared conventions of the project's commands: JSON summary last line, exit codes.

Exit code 0 when the run did what was asked, 1 when input was refused (problems listed),
2 for usage errors or an unreadable file.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError

EXIT_OK = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2


class UsageError(CommandError):
    """Bad flags, or a file that cannot be read: exit code 2."""

    def __init__(self, message: str):
        super().__init__(message, returncode=EXIT_USAGE)


class HuzhuCommand(BaseCommand):
    """A command that ends with one JSON summary line and maps outcomes to exit codes."""

    def write_summary(self, summary: dict) -> None:
        self.stdout.write(json.dumps(summary, ensure_ascii=False))

    def exit_refused(self) -> None:
        self.stdout.flush()
        sys.exit(EXIT_REFUSED)


class KeyedImportCommand(HuzhuCommand):
    """`huzhu import-… FILE [--valid-only] [--dry-run]` for a keyed registry import.

    Subclasses set `help` and `import_service`: a function taking (data, file_name,
    valid_only, dry_run) that returns a result with `problems`, `summary` and `written`, and
    raises `TabularError` for an unreadable file.
    """

    import_service = None

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
        from pathlib import Path

        from huzhu.core.tabular import TabularError, read_file_bytes

        path = Path(options["file"])
        try:
            data = read_file_bytes(path)
        except TabularError as exc:
            raise UsageError(exc.message)
        try:
            result = self.import_service(
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
