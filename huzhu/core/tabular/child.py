"""The parsing child: started by `isolation.run_isolated` with its memory limit in bytes.

Reads a pickled (op, payload) on stdin, writes a pickled ("ok", result) or ("error",
TabularError) on stdout. The memory limit is set before any parser is imported.
Only ever started by `isolation.run_isolated` with data it produced itself.
"""

from __future__ import annotations

import resource
import sys


def main() -> None:
    limit = int(sys.argv[1])
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)  # never ask for more than this process may have
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    import pickle

    from . import parse
    from .base import TabularError

    op, payload = pickle.load(sys.stdin.buffer)
    try:
        result = ("ok", parse.OPS[op](**payload))
    except TabularError as exc:
        result = ("error", exc)
    except MemoryError:
        sys.exit(3)
    sys.stdout.buffer.write(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    main()
