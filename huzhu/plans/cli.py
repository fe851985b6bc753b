"""Run `simulate` without setting up the whole Django project.

`huzhu simulate` goes through Django's command machinery, which first imports every
installed app (Wagtail, Ninja, ...): about two seconds before any work starts. Simulate
needs none of it (it never touches the database), so this entry point configures an
empty settings object and runs the very same Command class:

    python -m huzhu.plans.cli simulate --plan ... --enrollments ... --settlements ...
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "simulate":
        sys.stderr.write("usage: python -m huzhu.plans.cli simulate [options]\n")
        sys.exit(2)
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True, DATABASES={})
    from huzhu.plans.management.commands.simulate import Command

    Command().run_from_argv(["huzhu", *args])


if __name__ == "__main__":
    main()
