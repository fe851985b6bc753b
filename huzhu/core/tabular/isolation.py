"""Parsing in a child process with a memory limit, so no file can take the caller down.

A parser may allocate without limit (calamine builds the whole grid up to the last cell)
or abort the process outright (a failed allocation in Rust is SIGABRT, not an exception).
The web server and the task worker therefore never parse a workbook themselves: a short-
lived child (`python -m huzhu.core.tabular.child`) does, under `resource.RLIMIT_AS`, and
sends the result back pickled on its stdout. If it dies or runs out of memory, the caller
gets a TabularError saying so and keeps serving.

Cost for a normal file: starting the child (~50-100 ms: Python without Django or polars)
and pickling the cells back.
"""

from __future__ import annotations

import logging
import os
import pickle
import subprocess
import sys
from functools import cache
from pathlib import Path

from .base import TabularError

__all__ = ["PARSE_MEMORY_BYTES", "PARSE_TIMEOUT_SECONDS", "run_isolated"]

logger = logging.getLogger(__name__)

# Address space of the parsing child (RLIMIT_AS: virtual, so resident memory stays below).
PARSE_MEMORY_BYTES = 1400 * 1024 * 1024
PARSE_TIMEOUT_SECONDS = 600


_BOOT = (
    "import sys; sys.path.extend(sys.argv[2].split(chr(10)));"
    " from huzhu.core.tabular.child import main; main()"
)


@cache
def _child_path() -> str:
    import python_calamine

    import huzhu

    roots = [Path(huzhu.__file__).resolve().parents[1], Path(python_calamine.__file__).parents[1]]
    return chr(10).join(dict.fromkeys(str(r) for r in roots))


def run_isolated(op: str, payload: dict, *, file_name: str, memory_bytes: int | None = None):
    """Run `child.OPS[op](**payload)` in a child process and return its result; re-raise
    its TabularError; any other failure (killed, out of memory, timeout) is a TabularError.
    """
    limit = memory_bytes or PARSE_MEMORY_BYTES
    # -S: no site initialisation (an editable install's finder alone costs ~60 ms); the
    # two directories the child imports from are appended to its path instead.
    command = [sys.executable, "-S", "-c", _BOOT, str(limit), _child_path()]
    try:
        done = subprocess.run(
            command,
            input=pickle.dumps((op, payload), protocol=pickle.HIGHEST_PROTOCOL),
            capture_output=True,
            env={**os.environ, "RUST_BACKTRACE": "0"},
            timeout=PARSE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TabularError(
            f"文件“{file_name}”解析超过{PARSE_TIMEOUT_SECONDS}秒，已中止；请拆分文件后重试",
            code="too_large",
        ) from None
    if done.returncode == 0 and done.stdout:
        try:
            status, value = pickle.loads(done.stdout)
        except Exception:
            status, value = None, None
        if status == "ok":
            return value
        if status == "error" and isinstance(value, TabularError):
            raise value
    logger.warning(
        "parsing child for %r failed: exit %s, stderr %s",
        file_name,
        done.returncode,
        done.stderr[:500].decode("utf-8", "replace"),
    )
    raise TabularError(
        f"文件“{file_name}”解析失败：解析所需内存超过上限（{limit // (1024 * 1024)} MB）"
        "或文件已损坏；请检查文件，删除多余的行列或拆分后重试",
        code="too_large",
    )
