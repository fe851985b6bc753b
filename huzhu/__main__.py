"""The `huzhu` console script: Django's management commands for this project."""

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["simulate"]:
        # Simulate never touches the database: skip loading every app (about 2 s) and the
        # settings' secret-key checks, so it runs on any machine with just the plan files.
        from huzhu.plans.cli import main as simulate_main

        simulate_main(args)
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["huzhu", *args])


if __name__ == "__main__":
    main()
