"""Benchmark: the enrollment import of a 100,000-row .xlsx, on SQLite and on PostgreSQL.

    .venv/bin/python benchmarks/enrollment_import.py [--rows 100000] [--backend sqlite|postgres|both]

Generates a workbook the way offices fill it (xlsxwriter: 姓名, 身份证号 as text, 手机号 as a
numeric cell, 开户银行, 银行账号 as text for every row: the worst case, each account is
encrypted), then goes through the same service the command and the staff page call:

- parse+validate: `enrollment_import(..., dry_run=True)`: read, check every row, look the
  IDs up in the registry (empty here), classify; nothing written;
- whole import: `enrollment_import(...)` from the bytes to committed members + enrollments;
- re-import: the same file again (every row `already_enrolled`, nothing written);
- next year: the same file for the next scheme year (every row a renewal: the registry
  holds every member and the renewal rule is asked for all of them).

Each backend runs in its own process on a fresh database: SQLite in a temporary file,
PostgreSQL in a temporary database on 127.0.0.1:5432 (user postgres), dropped afterwards.
Target (issue #2): the whole import at >= 20,000 rows/s on both.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PG_URL = "postgres://postgres@127.0.0.1:5432/{name}"

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢钱俞竺裘商邢"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超霞平刚桂兰建华文辉玲红云飞鹏宇浩"


def make_workbook(rows: int, seed: int = 2026) -> bytes:
    import xlsxwriter

    sys.path.insert(0, str(REPO))
    from huzhu.members.idnumbers import check_digit

    rnd = random.Random(seed)
    seen: set[str] = set()
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "constant_memory": True})
    sheet = book.add_worksheet("参保名单")
    sheet.write_row(0, 0, ["姓名", "身份证号", "手机号", "开户银行", "银行账号"])
    r = 1
    while r <= rows:
        born = f"{rnd.randint(1960, 2004)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
        first17 = f"330683{born}{rnd.randint(0, 999):03d}"
        if first17 in seen:
            continue
        seen.add(first17)
        name = rnd.choice(SURNAMES) + "".join(rnd.choices(GIVEN, k=rnd.choice((1, 2))))
        sheet.write_string(r, 0, name)
        sheet.write_string(r, 1, first17 + check_digit(first17))
        sheet.write_number(r, 2, int(f"1{rnd.choice('3589')}{rnd.randint(0, 10**9 - 1):09d}"))
        sheet.write_string(r, 3, "中国工商银行嵊州支行")
        sheet.write_string(r, 4, f"6222{rnd.randint(0, 10**15 - 1):015d}")
        r += 1
    book.close()
    return out.getvalue()


def run_backend(backend: str, path: Path) -> dict:
    """In a fresh process (settings are read once per process): migrate, then time."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)

    import datetime as dt

    from huzhu.enrollment.models import Enrollment, SchemeYear
    from huzhu.enrollment.services import enrollment_import
    from huzhu.members.models import Member
    from huzhu.organizations.models import Union, UnionKind

    union = Union.objects.create(code="BENCH", name="基准测试工会", kind=UnionKind.WORKPLACE)
    year = SchemeYear.objects.create(
        year=2026,
        start=dt.date(2026, 1, 1),
        end=dt.date(2026, 12, 31),
        fee_per_member_fen=6000,
        waiting_period_days=90,
    )
    next_year = SchemeYear.objects.create(
        year=2027,
        start=dt.date(2027, 1, 1),
        end=dt.date(2027, 12, 31),
        fee_per_member_fen=6000,
        waiting_period_days=90,
    )
    data = path.read_bytes()
    kwargs = dict(data=data, file_name=path.name, union=union)
    today = dt.date(2026, 1, 5)

    server_cpu = _server_cpu_clock(connection)
    phases = {}
    results = {}
    for phase, extra in (
        ("parse_validate", {"dry_run": True, "scheme_year": year}),
        ("import", {"scheme_year": year}),
        ("reimport", {"scheme_year": year}),
        ("next_year", {"scheme_year": next_year, "today": dt.date(2026, 12, 1)}),
    ):
        extra.setdefault("today", today)
        connection.ensure_connection()
        c, s, t = time.process_time(), server_cpu(), time.perf_counter()
        results[phase] = enrollment_import(**kwargs, **extra)
        phases[phase] = (
            time.perf_counter() - t,
            time.process_time() - c,
            server_cpu() - s,
        )
    dry, real, again = results["parse_validate"], results["import"], results["reimport"]
    rows = dry.summary["rows"]
    assert dry.summary["errors"] == 0, dry.problems[:5]
    assert real.summary["enrolled"] == rows and real.written
    assert again.summary["already_enrolled"] == rows and again.summary["enrolled"] == 0
    renewed = results["next_year"]
    assert renewed.summary["renewals"] == rows and renewed.written
    assert Member.objects.count() == rows and Enrollment.objects.count() == 2 * rows
    out = {"backend": backend, "vendor": connection.vendor, "rows": rows}
    for phase, (wall, cpu, server) in phases.items():
        out[f"{phase}_s"] = round(wall, 2)
        out[f"{phase}_rows_s"] = round(rows / wall)
        # CPU seconds of this Python process and of the PostgreSQL backend serving it (SQLite
        # works inside this process). On a machine busy with other work the wall clock
        # stretches; python + server CPU is what the import costs on an idle one.
        out[f"{phase}_cpu_s"] = round(cpu, 2)
        out[f"{phase}_server_cpu_s"] = round(server, 2)
        out[f"{phase}_cpu_rows_s"] = round(rows / (cpu + server))
    return out


def _server_cpu_clock(connection):
    """CPU seconds used so far by the PostgreSQL backend process of this connection (it runs
    on this machine: 127.0.0.1); always 0 for SQLite."""
    if connection.vendor != "postgresql":
        return lambda: 0.0
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    tick = os.sysconf("SC_CLK_TCK")

    def read() -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / tick  # utime + stime

    return read


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qc", sql],
        check=True,
        capture_output=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_backend(args.child, Path(args.file))))
        return

    with tempfile.TemporaryDirectory(prefix="huzhu-bench-") as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        path = tmp / f"enrollment-{args.rows}.xlsx"
        path.write_bytes(make_workbook(args.rows))
        size = path.stat().st_size / 1e6
        print(
            f"generated {path.name}: {args.rows} rows, {size:.1f} MB in {time.perf_counter() - t:.1f}s"
        )
        print(
            f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} ({os.cpu_count()} CPUs)"
        )
        backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
        results = []
        for backend in backends:
            env = dict(os.environ)
            env.update(
                {
                    "SECRET_KEY": "bench-" + "x" * 40,
                    "HUZHU_FIELD_KEY": "q4b2C0Pp5Yv9bJ6Vd0o9m1cQ9a3kq2Nq3Gk7dYbXo1M=",
                    "HUZHU_VAR_DIR": str(tmp / "var"),
                    "DEBUG": "0",
                    "PYTHONPATH": str(REPO),
                }
            )
            db_name = f"huzhu_bench_{os.getpid()}"
            if backend == "sqlite":
                env["DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
            else:
                _psql(f"CREATE DATABASE {db_name}")
                env["DATABASE_URL"] = PG_URL.format(name=db_name)
            try:
                proc = subprocess.run(
                    [sys.executable, __file__, "--child", backend, "--file", str(path)],
                    env=env,
                    capture_output=True,
                    text=True,
                )
            finally:
                if backend == "postgres":
                    _psql(f"DROP DATABASE IF EXISTS {db_name}")
            if proc.returncode != 0:
                sys.exit(f"{backend} failed:\n{proc.stderr}")
            result = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(result)
            print(f"{backend}:")
            for phase, label in (
                ("parse_validate", "parse+validate"),
                ("import", "whole import"),
                ("reimport", "same file again"),
                ("next_year", "next year"),
            ):
                cpu = result[f"{phase}_cpu_s"] + result[f"{phase}_server_cpu_s"]
                print(
                    f"  {label:<16} {result[f'{phase}_rows_s']:>7,} rows/s wall "
                    f"({result[f'{phase}_s']:.2f} s)   {result[f'{phase}_cpu_rows_s']:>7,} rows/s "
                    f"of CPU ({cpu:.2f} s: python {result[f'{phase}_cpu_s']:.2f} + "
                    f"database server {result[f'{phase}_server_cpu_s']:.2f})"
                )
        print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print(json.dumps(results))


if __name__ == "__main__":
    main()
