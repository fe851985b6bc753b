"""`huzhu rotate-keys [--batch-size N]`: re-encrypt every stored personal value under
HUZHU_FIELD_KEY and re-compute the blind indexes, reading the old key from
HUZHU_FIELD_OLD_KEYS (huzhu/ops/keyrotation.py, docs/security.md). Batched, resumable,
idempotent. Last line: JSON summary; exit status 1 when some value could not be read."""

import sys

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.ops.keyrotation import rotate_keys


class Command(HuzhuCommand):
    help = "Re-encrypt personal data under HUZHU_FIELD_KEY and re-compute its blind indexes."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=2000, metavar="N")

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise UsageError("--batch-size must be at least 1")

        def progress(model: str, rows: int, rewritten: int) -> None:
            sys.stderr.write(f"{model}: {rows} rows read, {rewritten} rewritten\n")

        result = rotate_keys(batch_size=options["batch_size"], progress=progress)
        self.write_summary(result.summary())
        if result.unreadable:
            sys.exit(1)
