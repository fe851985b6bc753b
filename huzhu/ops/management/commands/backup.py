"""`huzhu backup --out DIR [--encrypt] [--no-files]`: the database and every stored file, with
a manifest of checksums (huzhu/ops/backup.py). Last line: JSON summary."""

from pathlib import Path

from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.ops.backup import BackupError, backup_create


class Command(HuzhuCommand):
    help = "Back up the database and stored files into a new folder (manifest + checksums)."

    def add_arguments(self, parser):
        parser.add_argument("--out", required=True, metavar="DIR", help="a new or empty folder")
        parser.add_argument(
            "--encrypt", action="store_true", help="encrypt with the Fernet key HUZHU_BACKUP_KEY"
        )
        parser.add_argument(
            "--no-files", action="store_true", help="the database only, no stored files"
        )

    def handle(self, *args, **options):
        try:
            result = backup_create(
                out=Path(options["out"]),
                encrypt=options["encrypt"],
                include_files=not options["no_files"],
            )
        except BackupError as exc:
            raise UsageError(exc.message)
        self.write_summary(result.summary())
