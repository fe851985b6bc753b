"""Benchmark: peak memory of every reader on the hostile corpus at full size, and the cost of
parsing in a child process for normal files.

    .venv/bin/python benchmarks/hostile_files.py [--dir DIR] [--only KEY,...]

For each file of `tests/hostile_files.py` (made at full size: 100 MB of commas, a 2 MB zip
bomb inflating to 2 GB, one cell at XFD1048576 / ZZ200000, ...) and for each reader entry:

- `row`: `read_table` (enrollment, unions, hospitals, bank returns: pages and commands);
- `frame`: `read_frame` (the settlement import in the worker or command, simulate);
- `upload`: `check_file` (what the settlement upload page runs before queueing);

a fresh process reads the file; the figures are that process's peak RSS and the peak RSS
of the parsing child it started (if any), the outcome and the time. The target (issue 14):
no file makes any process exceed 1.5 GB or die. Then: the overhead of the child for a
normal enrollment sheet (in-process parse vs the same through the child).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ALIASES = {"姓名": "name", "身份证号": "id_number", "手机号": "phone"}


def child(kind: str, path: str) -> dict:
    """Run one reader on one file in this (fresh) process; report outcome and memory."""
    from huzhu.core.tabular import TabularError, check_file, read_frame, read_table
    from huzhu.plans.rules.records import SETTLEMENT_HEADERS

    started = time.perf_counter()
    outcome = "accepted"
    try:
        if kind == "row":
            data = Path(path).read_bytes()
            read_table(data, Path(path).name, aliases=ALIASES, required={"name", "id_number"})
        elif kind == "frame":
            read_frame(path, aliases=SETTLEMENT_HEADERS)
        else:
            check_file(Path(path).read_bytes(), Path(path).name)
            outcome = "queued"
    except TabularError as exc:
        outcome = f"{exc.code}: {exc.message}"
    return {
        "seconds": round(time.perf_counter() - started, 3),
        "outcome": outcome,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "parser_child_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
    }


def measure(kind: str, path: Path) -> dict:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--child", kind, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    out, err = proc.communicate()
    if proc.returncode != 0:
        return {"outcome": f"PROCESS DIED ({proc.returncode}): {err.decode()[-300:]}"}
    return json.loads(out.decode().strip().splitlines()[-1])


def corpus(directory: Path) -> dict[str, Path]:
    from tests import hostile_files as hostile

    paths = hostile.write_corpus(directory, full=True)
    for cell in ("XFD1048576", "ZZ200000"):  # the dimension lies: only the child's limit holds
        path = directory / f"sparse_{cell.lower()}_lying_dimension.xlsx"
        path.write_bytes(hostile.sparse_xlsx(cell, declared="A1:B2"))
        paths[f"sparse_{cell.lower()}_lying"] = path
    return paths


def child_overhead(directory: Path) -> None:
    """A normal enrollment sheet (200 and 20,000 rows): parse in-process vs in the child."""
    import openpyxl

    from huzhu.core.tabular import parse, read_table
    from huzhu.core.tabular.reader import ROW_LIMITS

    for rows in (200, 20_000):
        book = openpyxl.Workbook()
        book.active.append(["姓名", "身份证号", "手机号"])
        for i in range(rows):
            book.active.append([f"职工{i}", f"33068319700101{i % 10000:04d}", 13800000000 + i])
        path = directory / f"enrollment-{rows}.xlsx"
        book.save(path)
        data = path.read_bytes()
        for label, run in (
            (
                "in-process",
                lambda data=data: parse.sheet(
                    source=data,
                    file_name="a.xlsx",
                    kind="xlsx",
                    aliases=ALIASES,
                    required={"name"},
                    limits=ROW_LIMITS,
                ),
            ),
            (
                "child",
                lambda data=data: read_table(data, "a.xlsx", aliases=ALIASES, required={"name"}),
            ),
        ):
            times = []
            for _ in range(5):
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                started = time.perf_counter()
                run()
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                times.append((time.perf_counter() - started, cpu))
            wall = sorted(t for t, _ in times)[2]
            cpu = sorted(c for _, c in times)[2]
            print(
                f"  {rows:>6} rows xlsx ({len(data) // 1024} KB) {label:<10} "
                f"median {wall * 1000:7.1f} ms wall"
                + (f", child CPU {cpu * 1000:.0f} ms" if label == "child" else "")
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", help="keep the corpus here (default: a temporary directory)")
    parser.add_argument("--only", help="comma-separated corpus keys")
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(*args.child)))
        return
    with tempfile.TemporaryDirectory(prefix="huzhu-hostile-") as tmp:
        directory = Path(args.dir) if args.dir else Path(tmp)
        started = time.perf_counter()
        paths = corpus(directory)
        print(f"corpus written in {time.perf_counter() - started:.1f} s to {directory}")
        print(f"load average {os.getloadavg()[0]:.1f}")
        worst = 0.0
        for key, path in paths.items():
            if args.only and key not in args.only.split(","):
                continue
            print(f"{key} ({path.stat().st_size:,} bytes)")
            for kind in ("row", "frame", "upload"):
                r = measure(kind, path)
                peak = max(r.get("peak_mb", 0), r.get("parser_child_peak_mb", 0))
                worst = max(worst, peak)
                print(
                    f"  {kind:<6} {r.get('seconds', 0):6.2f} s  process {r.get('peak_mb', 0):6.0f} MB"
                    f"  parsing child {r.get('parser_child_peak_mb', 0):6.0f} MB  "
                    f"{r['outcome'][:110]}"
                )
        print(f"largest peak RSS of any process: {worst:.0f} MB (target < 1,536 MB, none dies)")
        print("child-process overhead on normal files:")
        child_overhead(directory)


if __name__ == "__main__":
    main()
