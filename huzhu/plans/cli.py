"""Run `simulate` without setting up the whole Django project.

`huzhu simulate` goes through Django's command machinery, which first imports every
installed app (Wagtail, Ninja, ...): about two seconds before any work starts. Simulate
needs none of it (it never touches the database), so this entry point configures an
empty settings object and runs the very same Command class:

    python -m huzhu.plans.cli simulate --plan ... --enrollments ... --settlements ...
"""

from __future__ import annotations

import os
import sys

# polars' allocator (jemalloc) keeps the pages it frees instead of handing them back to
# the system: the run frees and reallocates hundreds of MB, and on these virtual
# machines touching a fresh page costs far more than reusing one (measured on 1M rows:
# 0.3-0.5 s less system time). Read once, when polars is loaded: set it before.
_ALLOCATOR_ENV = ("_RJEM_MALLOC_CONF", "dirty_decay_ms:-1,muzzy_decay_ms:-1")


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "simulate":
        sys.stderr.write("usage: python -m huzhu.plans.cli simulate [options]\n")
        sys.exit(2)
    if "polars" not in sys.modules:
        os.environ.setdefault(*_ALLOCATOR_ENV)
    from django.conf import settings

    if not settings.configured:
        settings.configure(USE_TZ=True, DATABASES={})
    from huzhu.plans.management.commands.simulate import Command

    Command().run_from_argv(["huzhu", *args])
    # Everything is written: leave without tearing the interpreter down (freeing the
    # tables page by page costs about 0.1-0.2 s here). Errors exit above via SystemExit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
