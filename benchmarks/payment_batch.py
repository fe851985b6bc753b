"""Benchmark: a payment batch of 100,000 approved claims on PostgreSQL — create, export,
import the bank's return file (issue 6 target: <= 30 s for the three).

    .venv/bin/python benchmarks/payment_batch.py [--claims 100000] [--members 80000]
                                                 [--failures 0.01] [--keep]

Runs on a temporary database on 127.0.0.1:5432 (created, migrated, dropped afterwards unless
--keep). Setup writes members (bank accounts encrypted), enrollments and approved claims with
COPY; some members owe a recovery that the batch nets. Then, through the services the
command and the pages use:
  create         payment_batch_create (locks the claims, one row per member, nets recoveries)
  export         payment_batch_export as .xlsx (and CSV, timed separately)
  mark sent      payment_batch_mark_sent (checks every claim is still approved)
  import return  payment_batch_import_return of a CSV return file with --failures failed rows
and prints the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
TEMPLATE = "huzhu_bench_payments_template"


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def _template_exists() -> bool:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        sql = "SELECT 1 FROM pg_database WHERE datname = %s"
        return conn.execute(sql, [TEMPLATE]).fetchone() is not None


def _timed(args, figures: dict, key: str, fn):
    """Run one step, record its wall time; with --profile print where the time went."""
    if args.profile:
        import cProfile
        import pstats

        profile = cProfile.Profile()
        t = time.perf_counter()
        result = profile.runcall(fn)
        figures[key] = round(time.perf_counter() - t, 2)
        print(f"--- {key}", file=sys.stderr)
        pstats.Stats(profile, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
        return result
    t, cpu = time.perf_counter(), time.process_time()
    if args.sql:
        from django.db import connection

        spent: list[tuple[float, str]] = []

        def timer(execute, sql, params, many, context):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent.append((time.perf_counter() - start, sql[:110]))

        with connection.execute_wrapper(timer):
            result = fn()
        print(
            f"--- {key}: {len(spent)} statements, {sum(d for d, _ in spent):.2f} s", file=sys.stderr
        )
        for d, sql in sorted(spent, reverse=True)[:8]:
            print(f"  {d:7.2f} s  {sql}", file=sys.stderr)
    else:
        result = fn()
    figures[key] = round(time.perf_counter() - t, 2)
    # This process's CPU (the database server's work is not in it): on a loaded machine the
    # wall time above can be several times this.
    figures[key.replace("_s", "_cpu_s")] = round(time.process_time() - cpu, 2)
    return result


def _values(model, overrides: dict, now):
    """Values of every concrete non-pk column of `model`: override, else the field default."""
    from django.db import models

    fields, defaults = [], []
    for f in model._meta.concrete_fields:
        if f.primary_key:
            continue
        name = f.attname
        fields.append(name)
        if name in overrides:
            defaults.append(overrides[name])
        elif getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            defaults.append(now)
        elif isinstance(f, models.JSONField):
            defaults.append(json.dumps(f.get_default()))
        elif f.has_default():
            defaults.append(f.get_default())
        elif f.null:
            defaults.append(None)
        elif isinstance(f, models.CharField | models.TextField):
            defaults.append("")
        else:
            raise ValueError(f"{model.__name__}.{name}: no value")
    return fields, defaults


def setup_data(n_claims: int, n_members: int) -> dict:
    import datetime as dt

    from django.db import transaction
    from django.utils import timezone

    from huzhu.claims.models import AdjustmentItem, Claim
    from huzhu.core.bulk import bulk_insert
    from huzhu.core.crypto import encrypt_text_many
    from huzhu.enrollment.models import Enrollment, SchemeYear
    from huzhu.members.idnumbers import check_digit
    from huzhu.members.models import Member
    from huzhu.organizations.models import Role, Union, UnionKind, User

    now = timezone.now()
    with transaction.atomic():
        fed = Union.objects.create(code="B000", name="总工会", kind=UnionKind.FEDERATION)
        unions = [
            Union.objects.create(
                code=f"B{i:03d}", name=f"第{i}工会", kind=UnionKind.WORKPLACE, parent=fed
            )
            for i in range(1, 21)
        ]
        User.objects.create(username="bench_finance", role=Role.FEDERATION_FINANCE, union=fed)
        year = SchemeYear.objects.create(
            year=2026,
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 12, 31),
            fee_per_member_fen=6000,
            waiting_period_days=90,
        )
        accounts = [f"6222{i:015d}" for i in range(n_members)]
        encrypted = encrypt_text_many(accounts)
        member_rows = []
        for i in range(n_members):
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=i // 400)
            first17 = f"330683{birth:%Y%m%d}{i % 400 + 100:03d}"
            member_rows.append(
                {
                    "id_number": first17 + check_digit(first17),
                    "name": f"职工{i}",
                    "phone": f"139{i:08d}",
                    "sex": "male" if (i % 400 + 100) % 2 else "female",
                    "birth_date": birth,
                    "bank_name": "中国工商银行嵊州支行",
                    "bank_account_encrypted": encrypted[i],
                    "bank_account_last4": accounts[i][-4:],
                    "union_id": unions[i % 20].pk,
                }
            )
        fields, _ = _values(Member, member_rows[0], now)
        member_ids = bulk_insert(Member, fields, [_values(Member, r, now)[1] for r in member_rows])
        e_fields, _ = _values(
            Enrollment,
            {"member_id": 0, "scheme_year_id": 0, "union_id": 0, "enrolled_on": None, "fee_fen": 0},
            now,
        )
        enrollment_ids = bulk_insert(
            Enrollment,
            e_fields,
            [
                _values(
                    Enrollment,
                    {
                        "member_id": m,
                        "scheme_year_id": year.pk,
                        "union_id": unions[i % 20].pk,
                        "enrolled_on": dt.date(2025, 11, 1),
                        "fee_fen": 6000,
                    },
                    now,
                )[1]
                for i, m in enumerate(member_ids)
            ],
        )
        claim_rows = []
        for c in range(n_claims):
            i = c % n_members
            amount = 5000 + (c * 7919) % 3_000_000
            claim_rows.append(
                _values(
                    Claim,
                    {
                        "number": f"HZ2026-{c + 1:07d}",
                        "member_id": member_ids[i],
                        "scheme_year_id": year.pk,
                        "enrollment_id": enrollment_ids[i],
                        "union_id": unions[i % 20].pk,
                        "benefit_code": "inpatient",
                        "benefit_name": "住院医疗互助",
                        "source": "auto",
                        "filer": "platform",
                        "payee_kind": "member",
                        "settlement_id": f"S{c:010d}",
                        "hospital_name": "嵊州市人民医院",
                        "admit_date": dt.date(2026, 3, 1),
                        "discharge_date": dt.date(2026, 3, 8) + dt.timedelta(days=c // n_members),
                        "amount_fen": amount,
                        "status": "approved",
                        "status_changed_at": now,
                        "approved_at": now,
                        "invoice_number": None,
                    },
                    now,
                )[1]
            )
        c_fields = [f.attname for f in Claim._meta.concrete_fields if not f.primary_key]
        claim_ids = bulk_insert(Claim, c_fields, claim_rows)
        # Every 100th member owes a recovery (netted from their row, partly if need be).
        a_fields = [f.attname for f in AdjustmentItem._meta.concrete_fields if not f.primary_key]
        recoveries = [
            _values(
                AdjustmentItem,
                {
                    "member_id": member_ids[i],
                    "claim_id": claim_ids[i],
                    "kind": "recovery",
                    "amount_fen": 20000,
                    "reason": "冲正追回",
                    "created_by_id": None,
                    "settled_at": None,
                },
                now,
            )[1]
            for i in range(0, n_members, 100)
        ]
        bulk_insert(AdjustmentItem, a_fields, recoveries)
    with connection_cursor() as cursor:
        cursor.execute("ANALYZE")
    return {"members": n_members, "claims": n_claims, "recoveries": len(recoveries)}


def connection_cursor():
    from django.db import connection

    return connection.cursor()


def run(args) -> dict:
    from huzhu.organizations.models import User
    from huzhu.payments import bankfile
    from huzhu.payments.selectors import QueueFilters
    from huzhu.payments.services import (
        batch_bank_rows,
        payment_batch_create,
        payment_batch_export,
        payment_batch_import_return,
        payment_batch_mark_sent,
    )

    t0 = time.perf_counter()
    setup = setup_data(args.claims, args.members)
    figures: dict = {"setup_s": round(time.perf_counter() - t0, 2), **setup}
    finance = User.objects.get(username="bench_finance")

    batch = _timed(
        args,
        figures,
        "create_s",
        lambda: payment_batch_create(acting_user=finance, filters=QueueFilters()).batch,
    )
    figures.update(rows=batch.row_count, batch_claims=batch.claim_count, netted=batch.netted_fen)

    xlsx = _timed(
        args,
        figures,
        "export_xlsx_s",
        lambda: payment_batch_export(batch=batch, file_format="xlsx", acting_user=finance),
    )
    figures["xlsx_bytes"] = len(xlsx.data)
    t = time.perf_counter()
    csv_file = payment_batch_export(batch=batch, file_format="csv", acting_user=finance)
    figures["export_csv_s"] = round(time.perf_counter() - t, 2)
    figures["csv_bytes"] = len(csv_file.data)

    t = time.perf_counter()
    payment_batch_mark_sent(batch=batch, acting_user=finance)
    figures["mark_sent_s"] = round(time.perf_counter() - t, 2)

    rows = batch_bank_rows(batch)
    step = max(1, round(1 / args.failures)) if args.failures else 0
    outcomes = {r.seq: (False, "账户已冻结") for r in rows[::step]} if step else {}
    data = bankfile.write_return_file(rows, outcomes)
    result = _timed(
        args,
        figures,
        "import_return_s",
        lambda: payment_batch_import_return(
            batch=batch, data=data, file_name="return.csv", acting_user=finance
        ),
    )
    figures.update(success=result.success_count, failed=result.failed_count)
    t = time.perf_counter()
    again = payment_batch_import_return(
        batch=batch, data=data, file_name="return.csv", acting_user=finance
    )
    figures["reimport_s"] = round(time.perf_counter() - t, 2)
    assert again.applied is False
    figures["total_create_export_import_s"] = round(
        figures["create_s"] + figures["export_xlsx_s"] + figures["import_return_s"], 2
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=80_000)
    parser.add_argument("--failures", type=float, default=0.01)
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    parser.add_argument(
        "--template",
        action="store_true",
        help=f"start from (and first make) a migrated template database {TEMPLATE}",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile each step")
    parser.add_argument("--sql", action="store_true", help="print each step's slowest statements")
    args = parser.parse_args()

    name = f"huzhu_bench_payments_{os.getpid()}"
    _admin(f"DROP DATABASE IF EXISTS {name}")
    # A migrated empty template makes repeated runs start in seconds (migrate below then
    # applies only what is new since the template was made).
    if args.template:
        import psycopg

        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE]
            ).fetchone()
        if exists:
            _admin(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        else:
            _admin(f"CREATE DATABASE {name}")
    else:
        _admin(f"CREATE DATABASE {name}")
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{name}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("HUZHU_VAR_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / name))
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connections

        t = time.perf_counter()
        call_command("migrate", verbosity=0)
        migrate_s = round(time.perf_counter() - t, 1)
        if args.template and not _template_exists():
            connections.close_all()
            _admin(f"CREATE DATABASE {TEMPLATE} TEMPLATE {name}")
        figures = run(args)
        figures["migrate_s"] = migrate_s
        figures["load_average"] = [round(x, 1) for x in os.getloadavg()]
        figures["cpus"] = os.cpu_count()
        print(json.dumps(figures, ensure_ascii=False))
        connections.close_all()
    finally:
        if not args.keep:
            _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


if __name__ == "__main__":
    main()
