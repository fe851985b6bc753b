"""`gc_paused()`: no cyclic garbage collection while a bulk path builds millions of rows.

Dependency-free (no Django) so the database-free engine (`huzhu simulate`) can use it too.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a big import builds its row objects.

    Every few hundred new containers CPython scans the young objects, and now and then all
    of them: with a million rows alive that costs a third of the run's CPU time. Our rows
    make no reference cycles, so nothing is lost by collecting once afterwards instead.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
