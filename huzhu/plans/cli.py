"""Run `simulate` without setting up the whole Django project.

`huzhu simulate` goes through Django's command machinery, which first imports every
installed app (Wagtail, Ninja, ...): about two seconds before any work starts. Simulate
needs none of it (it never touches the database), so this entry point configures an
empty settings object and runs the very same Command class:

    python -m huzhu.plans.cli simulate --plan ... --enrollments ... --settlements ...
"""

from __future__ import annotations

import gc
import os
import sys

# polars' allocator (jemalloc) keeps the pages it frees instead of handing them back to
# the system, in one arena shared by all threads (so a page freed by one thread is reused
# by the next allocation of any other): the run frees and reallocates hundreds of MB,
# and on these virtual machines touching a fresh page costs far more than reusing one.
# Measured on 1M rows: 0.3-0.5 s less system time, peak 1.0 GB instead of 1.3-1.4 GB.
# jemalloc reads it once, when polars is loaded: set before that, unless already set.
# Importing polars writes its own default into the environment, so a child of any
# process that uses polars (e.g. benchmarks/simulate.py) inherits that value: it counts
# as unset here.
_ALLOCATOR_ENV = "_RJEM_MALLOC_CONF"
_ALLOCATOR_CONF = "dirty_decay_ms:-1,muzzy_decay_ms:-1,narenas:1"
_POLARS_DEFAULT_CONF = "dirty_decay_ms:500,muzzy_decay_ms:1000"


def main(argv: list[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] != "simulate":
        sys.stderr.write("usage: python -m huzhu.plans.cli simulate [options]\n")
        sys.exit(2)
    inherited = os.environ.get(_ALLOCATOR_ENV, _POLARS_DEFAULT_CONF)
    if "polars" not in sys.modules and inherited == _POLARS_DEFAULT_CONF:
        os.environ[_ALLOCATOR_ENV] = _ALLOCATOR_CONF
    # No cyclic garbage collection in this short-lived process: the imports alone
    # (Django, polars, pydantic) trigger collections worth about 0.1 s, and the tables
    # hold no Python cycles worth freeing before the process ends.
    gc.disable()
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
