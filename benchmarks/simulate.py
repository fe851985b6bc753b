"""Benchmark `huzhu simulate` end to end (parse, adjudicate, write) on generated data.

    .venv/bin/python benchmarks/simulate.py [--rows 1000000] [--members 200000]

Generates a settlement CSV (national platform field names, like a bureau export) and an
enrollment CSV, then runs `huzhu simulate` as a subprocess with the bulk and the row
engine, and prints rows/s and the child's peak memory (ru_maxrss) for each.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from huzhu.members.idnumbers import check_digit  # noqa: E402

PLAN = ROOT / "benchmarks" / "plan-2026.yaml"


def make_members(n: int, rng: random.Random) -> list[str]:
    out: dict[str, None] = {}
    while len(out) < n:
        born = date(1960, 1, 1) + timedelta(days=rng.randrange(45 * 365))
        body = f"330683{born:%Y%m%d}{rng.randrange(1000):03d}"
        out[body + check_digit(body)] = None
    return list(out)


def yuan(col: str) -> pl.Expr:
    return pl.concat_str(
        [
            (pl.col(col) // 100).cast(pl.String),
            pl.lit("."),
            (pl.col(col) % 100).cast(pl.String).str.zfill(2),
        ]
    )


def generate(directory: Path, rows: int, members: int, seed: int = 2026) -> tuple[Path, Path]:
    rng = random.Random(seed)
    ids = make_members(members, rng)
    enr = [
        (i, date(2025, 10, 1) + timedelta(days=rng.randrange(240)), rng.random() < 0.8)
        for i in ids
        if rng.random() < 0.95
    ]
    pl.DataFrame(
        {
            "id_number": [e[0] for e in enr],
            "year": ["2026"] * len(enr),
            "union_code": ["U0001"] * len(enr),
            "enrolled_on": [e[1].isoformat() for e in enr],
            "renewal": ["true" if e[2] else "false" for e in enr],
        }
    ).write_csv(directory / "enrollments.csv")

    start = date(2026, 1, 1)
    admit_off = [rng.randrange(-20, 365) for _ in range(rows)]
    total = [rng.randrange(50_000, 6_000_000) for _ in range(rows)]
    frame = pl.DataFrame(
        {
            "n": range(rows),
            "who": [rng.randrange(len(ids)) for _ in range(rows)],
            "admit": [start + timedelta(days=a) for a in admit_off],
            "stay": [rng.randrange(25) for _ in range(rows)],
            "total": total,
            "outside": [rng.randrange(40_000) for _ in range(rows)],
            "fund_share": [rng.randrange(40, 86) for _ in range(rows)],
            "diag": [rng.randrange(7) for _ in range(rows)],
        }
    )
    diag = ["J18.900", "S82.201", "C34.100", "I63.900", "C50.901", "K35.800", "E11.900"]
    frame = (
        frame.with_columns(
            pl.min_horizontal(pl.col("outside"), pl.col("total")).alias("outside"),
        )
        .with_columns(
            (pl.col("total") - pl.col("outside")).alias("inscp"),
        )
        .with_columns(
            (pl.col("inscp") * pl.col("fund_share") // 100).alias("fund"),
        )
    )
    setl = pl.format("S{}", pl.col("n").cast(pl.String).str.zfill(18))
    frame = frame.select(
        setl.alias("setl_id"),
        pl.format("M{}", pl.col("n").cast(pl.String).str.zfill(18)).alias("mdtrt_id"),
        pl.col("who")
        .replace_strict(list(range(len(ids))), ids, return_dtype=pl.String)
        .alias("certno"),
        pl.lit("职工").alias("psn_name"),
        pl.lit("H33068301").alias("fixmedins_code"),
        pl.lit("嵊州市人民医院").alias("fixmedins_name"),
        pl.lit("3").alias("hosp_lv"),
        pl.col("admit").cast(pl.String).alias("begndate"),
        (pl.col("admit") + pl.duration(days=pl.col("stay"))).cast(pl.String).alias("enddate"),
        yuan("total").alias("medfee_sumamt"),
        yuan("inscp").alias("inscp_scp_amt"),
        yuan("fund").alias("fund_pay_sumamt"),
        yuan("outside").alias("fulamt_ownpay_amt"),
        pl.lit("0.00").alias("overlmt_selfpay"),
        pl.col("diag")
        .replace_strict(list(range(7)), diag, return_dtype=pl.String)
        .alias("diag_code"),
        pl.lit("0").alias("refd_setl_flag"),
    )
    # A few refunds (0.1%), duplicates (0.1%) and malformed amounts (0.1%), like real exports.
    k = rows // 1000
    refunds = frame.head(k).with_columns(
        ("R" + pl.col("setl_id")).alias("setl_id"),
        *[
            ("-" + pl.col(c)).alias(c)
            for c in ("medfee_sumamt", "inscp_scp_amt", "fund_pay_sumamt")
        ],
        pl.lit("1").alias("refd_setl_flag"),
    )
    dups = frame.slice(k, k)
    frame = pl.concat([frame.slice(0, rows - 2 * k), refunds, dups])
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % 997 == 0)
        .then(pl.lit("12.345"))
        .otherwise(pl.col("inscp_scp_amt"))
        .alias("inscp_scp_amt")
    )
    frame = frame.sample(fraction=1.0, shuffle=True, seed=seed)
    frame.write_csv(directory / "settlements.csv")
    return directory / "enrollments.csv", directory / "settlements.csv"


def run(engine: str, enr: Path, setl: Path, out: Path, entry: str = "huzhu") -> dict:
    if entry == "huzhu":
        launcher = [str(ROOT / ".venv" / "bin" / "huzhu")]
    else:  # same Command class, without importing the whole Django project first
        launcher = [sys.executable, "-m", "huzhu.plans.cli"]
    cmd = [
        *launcher,
        "simulate",
        "--plan",
        str(PLAN),
        "--enrollments",
        str(enr),
        "--settlements",
        str(setl),
        "--out",
        str(out),
        "--engine",
        engine,
    ]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "huzhu.test_settings"),
    }
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{engine} failed ({proc.returncode}):\n{stderr.decode()}")
    summary = json.loads(stdout.decode().strip().splitlines()[-1])
    return {
        "engine": engine,
        "entry": entry,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "load_average": os.getloadavg()[0],
        "seconds": elapsed,
        "command_seconds": summary["seconds"],
        "rows": summary["rows"],
        "peak_mb": usage.ru_maxrss / 1024,
        "payout": summary["plans"][0]["payout_total"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--engines", default="bulk,row")
    parser.add_argument("--dir", default=None, help="keep the generated files here")
    parser.add_argument(
        "--entry",
        default="huzhu,cli",
        help="huzhu: the `huzhu simulate` console script; cli: python -m huzhu.plans.cli",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse files already in --dir")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(args.dir or tmp)
        directory.mkdir(parents=True, exist_ok=True)
        t = time.perf_counter()
        if args.reuse and (directory / "settlements.csv").exists():
            enr, setl = directory / "enrollments.csv", directory / "settlements.csv"
        else:
            enr, setl = generate(directory, args.rows, args.members)
        size = setl.stat().st_size / 1e6
        print(
            f"generated {args.rows:,} settlement rows ({size:.0f} MB) over {args.members:,} members in {time.perf_counter() - t:.1f} s"
        )
        results = []
        for engine in args.engines.split(","):
            for entry in args.entry.split(","):
                r = run(engine, enr, setl, directory / f"out-{engine}.csv", entry)
                results.append(r)
                print(
                    f"{engine:5s} via {entry:5s}: {r['rows'] / r['seconds']:>10,.0f} rows/s end to end "
                    f"({r['seconds']:.2f} s wall, {r['command_seconds']:.2f} s inside the command, "
                    f"{r['cpu_seconds']:.2f} s CPU), peak {r['peak_mb']:,.0f} MB, "
                    f"load average {r['load_average']:.1f}, payout {r['payout']}",
                    flush=True,
                )
        if {r["engine"] for r in results} == {"bulk", "row"}:
            same = (directory / "out-bulk.csv").read_bytes() == (
                directory / "out-row.csv"
            ).read_bytes()
            print(f"bulk and row OUT.csv identical: {same}")
        print(json.dumps(results))


if __name__ == "__main__":
    main()
