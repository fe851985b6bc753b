"""`huzhu import-settlements FILE [--source NAME]`: import the bureau's settlement records.

Every covered stay becomes an auto-claim (免申即享). A progress bar is drawn on stderr when it
is a terminal. The last output line is the JSON summary. Exit codes: 0 imported (bad rows, if
any, are listed and kept as problems), 1 the file was refused as a whole (missing columns,
no plan loaded), 2 usage error or unreadable file.
"""

import sys
import time

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.settlements.services import ImportRefused, TableReadError, settlement_import_file

PROBLEMS_SHOWN = 50


class ProgressBar:
    """A one-line progress bar on a terminal (nothing when stderr is not one)."""

    def __init__(self, stream, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()
        self.last = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        pct = 100 if not total else min(100, done * 100 // total)
        if pct == self.last:
            return
        self.last = pct
        filled = self.width * pct // 100
        elapsed = time.monotonic() - self.started
        self.stream.write(
            f"\r导入中 [{'#' * filled}{'.' * (self.width - filled)}] {pct:3d}% "
            f"{done}/{total} 行 {elapsed:.0f}s"
        )
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled and self.last >= 0:
            self.stream.write("\n")
            self.stream.flush()


class Command(HuzhuCommand):
    help = (
        "Import settlement records (CSV UTF-8/GBK or .xlsx; our or the national platform's "
        "field names): every covered stay becomes an auto-claim. Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="settlement file: .csv (UTF-8, BOM or GBK) or .xlsx")
        parser.add_argument(
            "--source", default="bureau", help="name of the data source (default: bureau)"
        )

    def handle(self, *args, **options):
        source = (options["source"] or "").strip()
        if not source or len(source) > 64:
            raise UsageError("--source 应为1到64个字符的数据来源名称")
        bar = ProgressBar(sys.stderr)
        try:
            result = settlement_import_file(path=options["file"], source=source, progress=bar)
        except TableReadError as exc:
            bar.finish()
            raise UsageError(exc.message)
        except ImportRefused as exc:
            bar.finish()
            self.stderr.write(f"导入被拒绝：{exc.message}")
            self.write_summary({"error": exc.code, "message": exc.message})
            self.exit_refused()
        bar.finish()
        batch = result.batch
        self.stdout.write(
            f"批次 {batch.pk}：{batch.file_name}（编码 {batch.encoding}，来源 {batch.source}）"
        )
        for p in result.problems[:PROBLEMS_SHOWN]:
            self.stdout.write(f"第{p['row']}行 {p['field'] or '-'}: {p['reason']}")
        more = result.summary["invalid"] - min(len(result.problems), PROBLEMS_SHOWN)
        if more > 0:
            self.stdout.write(f"……另有{more}行有误，见批次页面")
        for r in result.review[:PROBLEMS_SHOWN]:
            self.stdout.write(f"第{r['row']}行 待复核: {r['review_reason']}")
        self.write_summary(result.summary)
