"""`huzhu restore DIR`: a backup made by `huzhu backup` onto an EMPTY database (create it, do not
migrate it) and its files into the configured storage. Every checksum is checked first; the row
counts are compared with the manifest at the end. Last line: JSON summary."""

from pathlib import Path

from huzhu.core.commands import HuzhuCommand
from huzhu.ops.backup import BackupError, backup_restore


class Command(HuzhuCommand):
    help = "Restore a backup folder onto an empty database and the configured file storage."

    def add_arguments(self, parser):
        parser.add_argument("folder", metavar="DIR")

    def handle(self, *args, **options):
        try:
            summary = backup_restore(folder=Path(options["folder"]))
        except BackupError as exc:
            self.stderr.write(exc.message)
            self.exit_refused()
        self.write_summary(summary)
