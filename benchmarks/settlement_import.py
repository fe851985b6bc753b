"""Benchmark: the settlement import (免申即享) of a 1,000,000-row file over 200,000 members,
on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/settlement_import.py [--rows 1000000] [--members 200000]
                                                     [--backend sqlite|postgres|both]

End to end through the service the command, the upload task and the push API call
(`settlement_import_file`): read the CSV, validate, match members, compute every stay with
the bulk engine, write records, claims, notifications and ledgers (COPY on PostgreSQL), all
in one transaction. Then the same file again (every row a duplicate, nothing written).

Each backend runs on a fresh database (SQLite: a temporary file; PostgreSQL: a temporary
database on 127.0.0.1:5432, dropped afterwards); setup (migrate, members, enrollments) and
each import run in their own process, so each import's peak memory (max RSS) is its own.
Targets (issue 4): PostgreSQL >= 50,000 rows/s, SQLite >= 30,000 rows/s, re-import >= 2x
faster and creating nothing, peak < 3 GB.
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

REPO = Path(__file__).resolve().parents[1]
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"
PLAN = REPO / "tests" / "data" / "plan-2026.yaml"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢钱俞"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰建华文辉玲红云飞鹏宇浩"
HOSPITALS = ["嵊州市人民医院", "嵊州市中医院", "浙江大学医学院附属第一医院", "绍兴市人民医院"]
DIAGNOSES = ["J18.900", "S82.201", "K35.800", "I10.x00", "C34.100", "I63.900", "C50.901", "E11.900"]


def id_numbers(count: int, offset: int = 0) -> list[str]:
    """`count` distinct valid ID numbers of 嵊州 (330683), deterministic."""
    from datetime import date, timedelta

    from huzhu.members.idnumbers import check_digit

    out = []
    base = date(1960, 1, 1)
    for i in range(offset, offset + count):
        birth = base + timedelta(days=i // 400)
        first17 = f"330683{birth:%Y%m%d}{i % 400 + 100:03d}"
        out.append(first17 + check_digit(first17))
    return out


def name_of(i: int) -> str:
    return (
        SURNAMES[i % len(SURNAMES)] + GIVEN[(i // 7) % len(GIVEN)] + GIVEN[(i // 53) % len(GIVEN)]
    )


def make_file(path: Path, rows: int, members: int, seed: int = 2026) -> None:
    """A bureau file in our field names: ~92% enrolled members (80% of them renewals), the rest
    strangers; 0.2% reversals of earlier rows, 0.1% repeated rows; stays all over 2026."""
    import polars as pl

    strangers = max(1, members // 10)
    ids = id_numbers(members + strangers)
    n_rev = rows // 500
    n_dup = rows // 1000
    n_base = rows - n_rev - n_dup
    rng = pl.int_range(0, n_base, eager=True)
    frame = pl.DataFrame({"i": rng})
    h = (pl.col("i") * 2654435761 + seed) % 4294967296  # a cheap deterministic hash
    pick = pl.when(h % 100 < 92).then(h % members).otherwise(members + (h // 7) % strangers)
    frame = frame.with_columns(pick.alias("who"), h.alias("h"))
    admit_day = (pl.col("h") // 13) % 350
    los = 1 + (pl.col("h") // 17) % 20
    frame = frame.with_columns(
        (pl.lit("S2026") + pl.col("i").cast(pl.String).str.zfill(10)).alias("settlement_id"),
        pl.col("who").map_elements(lambda w: ids[w], return_dtype=pl.String).alias("id_number"),
        pl.col("who").map_elements(name_of, return_dtype=pl.String).alias("name"),
        pl.col("h")
        .mod(len(HOSPITALS))
        .map_elements(lambda k: HOSPITALS[k], return_dtype=pl.String)
        .alias("hospital"),
        pl.lit("3").alias("hospital_level"),
        (pl.date(2026, 1, 1) + pl.duration(days=admit_day)).alias("admit"),
        (pl.date(2026, 1, 1) + pl.duration(days=admit_day + los)).alias("discharge"),
        (100_000 + (pl.col("h") // 3) % 4_900_000).alias("fund"),
        ((pl.col("h") // 5) % 3_000_000).alias("inpol"),
        ((pl.col("h") // 11) % 500_000).alias("outpol"),
        ((pl.col("h") // 19) % len(DIAGNOSES))
        .map_elements(lambda k: DIAGNOSES[k], return_dtype=pl.String)
        .alias("diagnosis_code"),
    )

    frame = frame.with_columns((pl.col("fund") + pl.col("inpol") + pl.col("outpol")).alias("total"))

    def yuan(c):
        return pl.concat_str(
            [
                (pl.col(c) // 100).cast(pl.String),
                pl.lit("."),
                (pl.col(c) % 100).cast(pl.String).str.zfill(2),
            ]
        )

    out = frame.select(
        "settlement_id",
        "id_number",
        "name",
        "hospital",
        "hospital_level",
        pl.col("admit").dt.strftime("%Y-%m-%d").alias("admit_date"),
        pl.col("discharge").dt.strftime("%Y-%m-%d").alias("discharge_date"),
        yuan("total").alias("total_cost"),
        yuan("fund").alias("fund_paid"),
        yuan("inpol").alias("self_pay_in_policy"),
        yuan("outpol").alias("self_pay_out_policy"),
        "diagnosis_code",
        pl.lit("0").alias("out_of_area"),
        pl.lit("").alias("reverses"),
    )
    step = max(1, n_base // max(1, n_rev))
    rev = (
        out.gather_every(step)
        .head(n_rev)
        .with_columns(
            ("R" + pl.col("settlement_id")).alias("settlement_id"),
            pl.col("settlement_id").alias("reverses"),
            ("-" + pl.col("total_cost")).alias("total_cost"),
            ("-" + pl.col("fund_paid")).alias("fund_paid"),
            ("-" + pl.col("self_pay_in_policy")).alias("self_pay_in_policy"),
            ("-" + pl.col("self_pay_out_policy")).alias("self_pay_out_policy"),
        )
    )
    dup = out.gather_every(max(1, n_base // max(1, n_dup))).head(n_dup)
    pl.concat([out, rev, dup]).write_csv(path)


# --- children ---------------------------------------------------------------------------------


def _django():
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    django.setup()


def child_setup(members: int) -> dict:
    _django()
    from datetime import date

    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from huzhu.core.bulk import bulk_insert
    from huzhu.enrollment.models import Enrollment, SchemeYear
    from huzhu.members.idnumbers import id_birth_date, id_sex
    from huzhu.members.models import Member
    from huzhu.members.personal import PERSONAL_COLUMNS, personal_values
    from huzhu.organizations.models import Union, UnionKind

    t = time.perf_counter()
    call_command("migrate", verbosity=0)
    migrate_s = time.perf_counter() - t
    t = time.perf_counter()
    now = timezone.now()
    with transaction.atomic():
        union = Union.objects.create(code="BENCH", name="基准测试工会", kind=UnionKind.WORKPLACE)
        y25 = SchemeYear.objects.create(
            year=2025,
            start=date(2025, 1, 1),
            end=date(2025, 12, 31),
            fee_per_member_fen=6000,
            waiting_period_days=90,
        )
        y26 = SchemeYear.objects.create(
            year=2026,
            start=date(2026, 1, 1),
            end=date(2026, 12, 31),
            fee_per_member_fen=6000,
            waiting_period_days=90,
        )
        ids = id_numbers(members)
        member_ids = bulk_insert(
            Member,
            [
                *PERSONAL_COLUMNS,
                "name",
                "sex",
                "birth_date",
                "bank_name",
                "bank_account_encrypted",
                "bank_account_last4",
                "union_id",
                "created_at",
                "updated_at",
            ],
            [
                (*p, name_of(i), id_sex(n), id_birth_date(n), "", "", "", union.pk, now, now)
                for i, (n, p) in enumerate(
                    zip(ids, personal_values(ids, [""] * len(ids)), strict=True)
                )
            ],
        )
        fields = ["member_id", "scheme_year_id", "union_id", "enrolled_on", "fee_fen", "created_at"]
        rows = [(m, y26.pk, union.pk, date(2025, 12, 1), 6000, now) for m in member_ids]
        rows += [
            (m, y25.pk, union.pk, date(2024, 12, 1), 6000, now)
            for i, m in enumerate(member_ids)
            if i % 5
        ]
        bulk_insert(Enrollment, fields, rows)
    members_s = time.perf_counter() - t
    # The setup's own writes (a migrated database, 200,000 members, 360,000 enrollments) are
    # put to disk before the import starts, as they would be long before a real import:
    # otherwise the checkpoint they call for runs during the import and is counted in it.
    # (SQLite: the last connection closing at the end of this process checkpoints its WAL.)
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    return {"migrate_s": round(migrate_s, 1), "members_s": round(members_s, 1)}


def child_import(path: str) -> dict:
    _django()
    from huzhu.claims.models import Claim
    from huzhu.plans.services import plan_load
    from huzhu.settlements.services import settlement_import_file

    plan_load(source_text=PLAN.read_text(encoding="utf-8"), source_name=PLAN.name)  # idempotent
    backend = _backend_pid()
    cpu0, server0, load0 = _cpu_self(), _cpu_of(backend), os.getloadavg()[0]
    t = time.perf_counter()
    result = settlement_import_file(path=path)
    seconds = time.perf_counter() - t
    cpu = _cpu_self() - cpu0
    server = _cpu_of(backend) - server0 if backend else 0.0
    s = result.summary
    return {
        "seconds": round(seconds, 2),
        "rows_s": round(s["rows"] / seconds),
        # The machine is shared: CPU seconds (this process + its PostgreSQL backend) say what
        # the import costs whatever the load; rows per CPU-second is the load-free rate.
        "cpu_s": round(cpu, 2),
        "server_cpu_s": round(server, 2),
        "rows_per_cpu_s": round(s["rows"] / max(cpu + server, 1e-9)),
        "load_avg": [round(load0, 1), round(os.getloadavg()[0], 1)],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "summary": s,
        "claims_in_db": Claim.objects.count(),
    }


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_pid() -> int | None:
    from django.db import connection

    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _cpu_of(pid: int | None) -> float:
    """user+system CPU seconds of another local process (the PostgreSQL backend)."""
    if not pid:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# --- the parent ---------------------------------------------------------------------------------


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


def _child(env, *args) -> dict:
    proc = subprocess.run(
        [sys.executable, __file__, *args], env=env, capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(f"{args} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "setup":
        print(json.dumps(child_setup(args.members)))
        return
    if args.child == "import":
        print(json.dumps(child_import(args.file)))
        return

    with tempfile.TemporaryDirectory(prefix="huzhu-bench-") as tmp:
        tmp = Path(tmp)
        sys.path.insert(0, str(REPO))
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
        t = time.perf_counter()
        path = tmp / f"settlements-{args.rows}.csv"
        make_file(path, args.rows, args.members)
        print(
            f"generated {path.name}: {args.rows:,} rows over {args.members:,} members, "
            f"{path.stat().st_size / 1e6:.0f} MB in {time.perf_counter() - t:.1f}s",
            flush=True,
        )
        backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
        results = {}
        for backend in backends:
            env = dict(os.environ)
            env.update(
                {
                    "SECRET_KEY": "bench-" + "x" * 40,
                    "HUZHU_FIELD_KEY": "q4b2C0Pp5Yv9bJ6Vd0o9m1cQ9a3kq2Nq3Gk7dYbXo1M=",
                    "HUZHU_VAR_DIR": str(tmp / "var"),
                    "DEBUG": "0",
                    "PYTHONPATH": str(REPO),
                    "DJANGO_SETTINGS_MODULE": "huzhu.settings",
                }
            )
            db_name = f"huzhu_bench_s_{os.getpid()}"
            if backend == "sqlite":
                env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
            else:
                _psql(f"CREATE DATABASE {db_name}")
                env["DATABASE_URL"] = PG_URL.format(name=db_name)
            try:
                setup = _child(env, "--child", "setup", "--members", str(args.members))
                # Each import starts with nothing left for the kernel to write back (the
                # setup's, or the previous backend's, ~1.5 GB): otherwise its writes are
                # throttled for somebody else's dirty pages (seen: PostgreSQL after SQLite
                # 19.2 s, alone 16.3 s, its server CPU 14.8 s against 12.1 s).
                os.sync()
                first = _child(env, "--child", "import", "--file", str(path))
                os.sync()
                again = _child(env, "--child", "import", "--file", str(path))
            finally:
                if backend == "postgres":
                    _psql(f"DROP DATABASE IF EXISTS {db_name}")
                else:
                    (tmp / "bench.sqlite3").unlink(missing_ok=True)
                os.sync()
            results[backend] = {"setup": setup, "first": first, "reimport": again}
            for label, r in (("first import", first), ("re-import", again)):
                print(
                    f"{backend:<9} {label:<12} {r['rows_s']:>7,} rows/s wall ({r['seconds']}s, "
                    f"load {r['load_avg'][0]}->{r['load_avg'][1]}), {r['rows_per_cpu_s']:>7,} rows "
                    f"per CPU-second (client {r['cpu_s']}s + server {r['server_cpu_s']}s), "
                    f"peak {r['peak_rss_mb']:,} MB, created {r['summary']['created']:,}",
                    flush=True,
                )
        print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
