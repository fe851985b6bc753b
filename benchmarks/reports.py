"""Benchmark: every report over 1,000,000 claims / 200,000 members, and the dashboards.

    .venv/bin/python benchmarks/reports.py [--claims 1000000] [--members 200000]
                                           [--backend sqlite|postgres|both] [--runs 3] [--keep]
                                           [--reuse]

Targets (issue 18): each report answers in <= 1 s on PostgreSQL and <= 3 s on SQLite;
each role's dashboard in <= 300 ms.

Each backend gets a fresh database (SQLite: a temporary file; PostgreSQL: a temporary
database on 127.0.0.1:5432, dropped afterwards unless --keep), migrated, then filled by
COPY / executemany (huzhu.core.bulk.bulk_insert) in the shape real data has: 66 unions
(federation, 5 townships, 60 workplaces), 2025 and 2026 enrollment (~85% renew), the
domain.md plan for 2026, 1,000,000 claims of 2026 over the members (auto 80%, one-stop 8%,
online 8%, counter 4%; 90% paid, 6% approved awaiting payment, 0.6% in the review queues,
2% rejected, 1.4% void;
approval and payment days over the year; a compact breakdown like the bulk import's),
their member-year ledgers (some at the cap), returned/rejected steps of the manual claims,
recoveries and top-ups, fee receipts. After ANALYZE, each report is made `--runs` times
through `report_make` (as the command and the pages call it) for the whole federation and
for one township's subtree; the best and the worst run are printed. Then each role's
dashboard (`huzhu.reports.dashboards.dashboard_for`) the same way.

Filling a million claims takes minutes; `--keep` keeps the databases (PostgreSQL
`huzhu_bench_reports_<claims>`, SQLite `$TMPDIR/huzhu-bench-reports/<claims>.sqlite3`) and `--reuse`
measures an earlier kept one again (migrated first, so new indexes are built, then ANALYZEd)
instead of filling a new one; it refuses a database of another size.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "huzhu_bench_reports"
REPORT_NAMES = ["fund", "payouts", "zero-trip", "turnaround", "rejections", "caps", "enrollment"]


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(sql)


def _django():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huzhu.settings")
    os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 40)
    os.environ.setdefault("HUZHU_FIELD_KEY", "q4b2C0Pp5Yv9bJ6Vd0o9m1cQ9a3kq2Nq3Gk7dYbXo1M=")
    import django

    django.setup()


def setup_data(n_claims: int, n_members: int) -> dict:
    import datetime as dt

    from django.db import connection, transaction
    from django.utils import timezone

    from huzhu.claims.models import AdjustmentItem, Claim, ClaimTransition, MemberYearLedger
    from huzhu.core.bulk import bulk_insert
    from huzhu.core.crypto import blind_index_many, encrypt_text_many
    from huzhu.core.masking import mask_id_number, mask_phone
    from huzhu.enrollment.models import Enrollment, FeeReceipt, SchemeYear
    from huzhu.members.idnumbers import check_digit
    from huzhu.members.models import Member
    from huzhu.organizations.models import Role, Union, UnionKind, User
    from huzhu.plans.services import plan_load

    t0 = time.perf_counter()
    now = timezone.now()
    tz = dt.timezone(dt.timedelta(hours=8))
    with transaction.atomic():
        fed = Union.objects.create(code="B000", name="总工会", kind=UnionKind.FEDERATION)
        towns = [
            Union.objects.create(
                code=f"T{i:02d}", name=f"第{i}街道总工会", kind=UnionKind.TOWNSHIP, parent=fed
            )
            for i in range(5)
        ]
        unions = [
            Union.objects.create(
                code=f"W{i:03d}",
                name=f"第{i}基层工会",
                kind=UnionKind.WORKPLACE,
                parent=towns[i % 5],
            )
            for i in range(60)
        ]
        for role, union in (
            (Role.FEDERATION_REVIEWER, fed),
            (Role.FEDERATION_FINANCE, fed),
            (Role.ADMIN, fed),
            (Role.UNION_OPERATOR, unions[0]),
        ):
            User.objects.create(username=f"bench_{role}", role=role, union=union)
        y2025 = SchemeYear.objects.create(
            year=2025,
            start=dt.date(2025, 1, 1),
            end=dt.date(2025, 12, 31),
            fee_per_member_fen=6000,
        )
        plan_load(
            source_text=(REPO / "tests" / "data" / "plan-2026.yaml").read_text(encoding="utf-8"),
            source_name="plan-2026.yaml",
        )
        y2026 = SchemeYear.objects.get(year=2026)
        id_numbers, phones, member_rows = [], [], []
        for i in range(n_members):
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=i // 400)
            first17 = f"330683{birth:%Y%m%d}{i % 400 + 100:03d}"
            id_numbers.append(first17 + check_digit(first17))
            phones.append(f"139{i:08d}")
            member_rows.append(
                (
                    f"职工{i}",
                    "male" if (i % 400 + 100) % 2 else "female",
                    birth,
                    "" if i % 23 == 0 else "中国工商银行嵊州支行",
                    "" if i % 23 == 0 else "x",
                    "" if i % 23 == 0 else f"{i % 10000:04d}",
                    unions[i % 60].pk,
                )
            )
        # ID numbers and phones as the members app stores them: encrypted, blind index, masked.
        member_rows = [
            (idn, idh, mask_id_number(n), ph, phh, mask_phone(p), *rest)
            for idn, idh, n, ph, phh, p, rest in zip(
                encrypt_text_many(id_numbers),
                blind_index_many("id_number", id_numbers),
                id_numbers,
                encrypt_text_many(phones),
                blind_index_many("phone", phones),
                phones,
                member_rows,
                strict=True,
            )
        ]
        member_ids = bulk_insert(
            Member,
            (
                "id_number_encrypted",
                "id_number_hash",
                "id_number_masked",
                "phone_encrypted",
                "phone_hash",
                "phone_masked",
                "name",
                "sex",
                "birth_date",
                "bank_name",
                "bank_account_encrypted",
                "bank_account_last4",
                "union_id",
            ),
            member_rows,
        )
        del member_rows
        e_fields = ("member_id", "scheme_year_id", "union_id", "enrolled_on", "fee_fen")
        bulk_insert(
            Enrollment,
            e_fields,
            [
                (m, y2025.pk, unions[i % 60].pk, dt.date(2024, 11, 1), 6000)
                for i, m in enumerate(member_ids)
                if i % 7  # 6 in 7 were enrolled in 2025
            ],
        )
        enrollment_ids = bulk_insert(
            Enrollment,
            e_fields,
            [
                (m, y2026.pk, unions[i % 60].pk, dt.date(2025, 11, 1), 6000)
                for i, m in enumerate(member_ids)
            ],
        )
        hospitals = [
            "嵊州市人民医院",
            "嵊州市中医院",
            "浙江大学医学院附属第一医院",
            "绍兴市人民医院",
        ]
        # Per 1000 claims late in a year: most paid, the last weeks' approvals awaiting
        # payment, a few hundred per 100,000 in the review queues.
        statuses = (
            ["approved"] * 60
            + ["paid"] * 900
            + ["submitted"] * 4
            + ["union_reviewed"] * 1
            + ["returned"] * 1
            + ["rejected"] * 20
            + ["void"] * 14
        )
        c_fields = (
            "number",
            "member_id",
            "scheme_year_id",
            "enrollment_id",
            "union_id",
            "benefit_code",
            "benefit_name",
            "source",
            "filer",
            "payee_kind",
            "hospital_code",
            "settlement_id",
            "hospital_name",
            "admit_date",
            "discharge_date",
            "total_cost_fen",
            "fund_paid_fen",
            "self_pay_in_policy_fen",
            "self_pay_out_policy_fen",
            "diagnosis_code",
            "amount_fen",
            "breakdown",
            "plan_version_number",
            "status",
            "status_changed_at",
            "approved_at",
            "paid_at",
            "payment_failed_at",
        )
        start = dt.datetime(2026, 1, 1, 9, tzinfo=tz)
        claim_ids = []
        chunk = 100_000
        for first in range(0, n_claims, chunk):
            rows = []
            for c in range(first, min(n_claims, first + chunk)):
                h = (c * 2654435761 + 2026) % 4294967296
                i = h % n_members
                kind = h % 100
                source, filer = (
                    ("auto", "platform")
                    if kind < 80
                    else ("onestop", "platform")
                    if kind < 88
                    else ("manual", "member")
                    if kind < 96
                    else ("manual", "union_operator")
                )
                status = statuses[(h // 101) % 1000]
                day = (h // 7) % 330
                discharge = dt.date(2026, 1, 2) + dt.timedelta(days=day)
                approved = start + dt.timedelta(days=day + (h // 13) % 20, minutes=h % 600)
                lump = (h // 17) % 50 == 0
                amount = 1_000_000 if lump else (h // 19) % 3_000_000
                rows.append(
                    (
                        f"HZ2026-{c + 1:07d}",
                        member_ids[i],
                        y2026.pk,
                        enrollment_ids[i],
                        unions[i % 60].pk,
                        "critical_illness" if lump else "inpatient",
                        "重大疾病互助" if lump else "住院医疗互助",
                        source,
                        filer,
                        "hospital" if source == "onestop" else "member",
                        "H001" if source == "onestop" else "",
                        f"S{c:010d}" if source != "manual" else None,
                        hospitals[(h // 23) % 4],
                        discharge - dt.timedelta(days=1 + (h // 29) % 12),
                        discharge,
                        amount * 3,
                        amount,
                        amount,
                        0,
                        "J18.900",
                        amount if status in ("approved", "paid", "void") else None,
                        json.dumps([amount, 50000, [[amount, 5000]], 0]),
                        1,
                        status,
                        approved
                        if status in ("approved", "paid", "void")
                        else now - dt.timedelta(days=(h // 31) % 90, hours=1),
                        approved if status in ("approved", "paid", "void") else None,
                        approved + dt.timedelta(days=5 + (h // 37) % 25)
                        if status == "paid"
                        else None,
                        now if status == "approved" and h % 997 == 0 else None,
                    )
                )
            claim_ids += bulk_insert(Claim, c_fields, rows)
        # Returned and rejected steps of the manual claims in those states.
        manual = list(
            Claim.objects.filter(source="manual", status__in=["returned", "rejected"]).values_list(
                "id", "status"
            )
        )
        reasons = ["发票不清晰", "缺少出院小结", "不在保障期内", "非住院费用", "重复申请"]
        bulk_insert(
            ClaimTransition,
            ("claim_id", "from_status", "to_status", "reason", "at"),
            [
                (cid, "submitted", status, reasons[cid % 5], now)
                for cid, status in manual
                for _ in range(1 + cid % 2)
            ],
        )
        # Ledgers: one per member with claims; every 150th member at the cap.
        bulk_insert(
            MemberYearLedger,
            (
                "member_id",
                "scheme_year_id",
                "deductible_used_fen",
                "cumulative_excess_fen",
                "paid_toward_cap_fen",
                "lump_sums",
                "version",
            ),
            [
                (m, y2026.pk, 50000, 100000, 3_000_000 if i % 150 == 0 else 120000, "{}", 1)
                for i, m in enumerate(member_ids)
            ],
        )
        bulk_insert(
            AdjustmentItem,
            (
                "member_id",
                "claim_id",
                "kind",
                "amount_fen",
                "settled_amount_fen",
                "reason",
                "status",
            ),
            [
                (
                    member_ids[0],
                    claim_ids[k],
                    "recovery" if k % 3 else "top_up",
                    20000,
                    20000 if k % 2 else 5000,
                    "冲正追回",
                    "settled" if k % 2 else "open",
                )
                for k in range(0, min(len(claim_ids), 5000 * 7), 7)
            ],
        )
        bulk_insert(
            FeeReceipt,
            ("union_id", "scheme_year_id", "received_on", "amount_fen", "payer_name"),
            [
                (u.pk, y2026.pk, dt.date(2026, 1, 5) + dt.timedelta(days=k * 30), 9_000_000, u.name)
                for u in unions
                for k in range(3)
            ],
        )
    with connection.cursor() as cursor:
        # What autovacuum does after a bulk load: statistics, and on PostgreSQL the visibility
        # map that lets index-only scans skip the table.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {
        "members": n_members,
        "claims": n_claims,
        "setup_s": round(time.perf_counter() - t0, 1),
    }


def measure(runs: int) -> dict:
    from django.db import connection, reset_queries

    from huzhu.organizations.models import User
    from huzhu.reports.registry import report_make

    figures: dict = {}
    for scope, union in (("all", None), ("township T00", "T00")):
        for name in REPORT_NAMES:
            times = []
            for _ in range(runs):
                reset_queries()
                t = time.perf_counter()
                report_make(name, year=2026, union_code=union)
                times.append(time.perf_counter() - t)
            figures[f"{name} [{scope}]"] = {
                "best_s": round(min(times), 3),
                "worst_s": round(max(times), 3),
            }
            print(
                f"  {name:<11} {scope:<13} best {min(times):.3f} s  worst {max(times):.3f} s",
                file=sys.stderr,
                flush=True,
            )
        for by in ("union", "month", "hospital", "channel"):
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                report_make("payouts", year=2026, union_code=union, by=by)
                times.append(time.perf_counter() - t)
            figures[f"payouts --by {by} [{scope}]"] = {
                "best_s": round(min(times), 3),
                "worst_s": round(max(times), 3),
            }
            print(
                f"  payouts/{by:<8} {scope:<13} best {min(times):.3f} s  worst {max(times):.3f} s",
                file=sys.stderr,
                flush=True,
            )
    try:
        from huzhu.reports.dashboards import dashboard_for
    except ImportError:  # dashboards not built yet
        dashboard_for = None
    if dashboard_for is not None:
        from django.urls import reverse

        # A serving process has its URLconf loaded; the first reverse() imports every view
        # module (about a second), which is not the dashboard's time.
        reverse("web:review_queue")
        for user in User.objects.filter(username__startswith="bench_").order_by("username"):
            times = []
            for _ in range(runs):
                t = time.perf_counter()
                dashboard_for(user)
                times.append(time.perf_counter() - t)
            figures[f"dashboard {user.role}"] = {
                "best_ms": round(min(times) * 1000),
                "worst_ms": round(max(times) * 1000),
            }
            print(
                f"  dashboard {user.role:<20} best {min(times) * 1000:.0f} ms  worst {max(times) * 1000:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
    connection.close()
    return figures


def reuse_data(n_claims: int, n_members: int) -> dict:
    from django.db import connection

    from huzhu.claims.models import Claim
    from huzhu.members.models import Member

    found = (Claim.objects.count(), Member.objects.count())
    if found != (n_claims, n_members):
        raise SystemExit(
            f"--reuse: the kept database has {found[0]:,} claims / {found[1]:,} members, "
            f"not {n_claims:,} / {n_members:,}; run without --reuse to fill a new one"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
    return {"members": n_members, "claims": n_claims, "reused": True}


def child(args) -> None:
    _django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.reuse:
        out = {"setup": reuse_data(args.claims, args.members)}
    else:
        out = {"setup": setup_data(args.claims, args.members)}
    out["figures"] = measure(args.runs)
    print(json.dumps(out, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--claims", type=int, default=1_000_000)
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the databases an earlier --keep left"
    )
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    results = {}
    kept = args.keep or args.reuse
    pg_db = f"{PG_DB}_{args.claims}" if kept else PG_DB
    for backend in backends:
        env = dict(os.environ)
        if kept:
            tmp = str(Path(tempfile.gettempdir()) / "huzhu-bench-reports")
            Path(tmp).mkdir(exist_ok=True)
        else:
            tmp = tempfile.mkdtemp(prefix="huzhu-bench-reports-")
        env["HUZHU_VAR_DIR"] = tmp
        sqlite_file = Path(tmp) / (f"{args.claims}.sqlite3" if kept else "bench.sqlite3")
        if backend == "postgres":
            if not args.reuse:
                _admin(f"DROP DATABASE IF EXISTS {pg_db}")
                _admin(f"CREATE DATABASE {pg_db}")
            env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{pg_db}"
        else:
            if not args.reuse:
                sqlite_file.unlink(missing_ok=True)
            elif not sqlite_file.exists():
                raise SystemExit(f"--reuse: no kept SQLite database at {sqlite_file}")
            env["DATABASE_URL"] = f"sqlite:///{sqlite_file}"
        print(
            f"{backend}: {'reusing' if args.reuse else 'setting up'} "
            f"{args.claims:,} claims / {args.members:,} members …",
            file=sys.stderr,
            flush=True,
        )
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--claims",
            str(args.claims),
            "--members",
            str(args.members),
            "--runs",
            str(args.runs),
            *(["--reuse"] if args.reuse else []),
        ]
        done = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True, check=True)
        results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
        if not kept:
            if backend == "postgres":
                _admin(f"DROP DATABASE IF EXISTS {pg_db}")
            else:
                sqlite_file.unlink(missing_ok=True)
    target = {"sqlite": 3.0, "postgres": 1.0}
    for backend, res in results.items():
        worst = max(v["worst_s"] for k, v in res["figures"].items() if "worst_s" in v)
        res["slowest_report_worst_s"] = worst
        res["report_target_s"] = target[backend]
        res["reports_met"] = worst <= target[backend]
        dash = [v["worst_ms"] for k, v in res["figures"].items() if k.startswith("dashboard")]
        if dash:
            res["dashboards_worst_ms"] = max(dash)
            res["dashboards_met"] = max(dash) <= 300
    print(json.dumps(results, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
