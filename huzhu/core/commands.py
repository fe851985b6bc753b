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
