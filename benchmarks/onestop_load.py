"""Load benchmark of the one-stop settlement API, against the server as deployed (gunicorn,
several workers) on loopback and a temporary PostgreSQL database.

    .venv/bin/python benchmarks/onestop_load.py [--members 20000] [--workers 4] [--threads 2]
        [--levels 4,8,16,32] [--seconds 15] [--max-requests 6000] [--faults] [--keep]

1. Creates a temporary database on 127.0.0.1:5432 from a migrated template
   (`huzhu_bench_onestop_template`, built on first use and migrated on every run;
   `--fresh-template` rebuilds it),
   loads domain.md's 2026 plan, enrolls `--members` members (renewals), registers a hospital
   and its API key.
2. Starts the server as deployed, `gunicorn -c python:huzhu.gunicorn_conf huzhu.wsgi`, with
   `--workers` gthread workers of `--threads` threads on 127.0.0.1 (DEBUG off, persistent
   database connections, HTTP keep-alive).
3. Warms up (1,500 settles), then runs `ANALYZE` (a deployed database has statistics:
   autovacuum analyzes within a minute). Drives signed `settle` requests (each a fresh settlement of a random member) at each
   concurrency level of `--levels` (closed loop: N clients in one asyncio loop, each with its
   own keep-alive connection, sending its next request when the last is answered), bounded
   by `--seconds` and `--max-requests` per level; then one run of cashier pairs (presettle,
   then settle). Prints throughput, p50/p95/p99 latency, the load average and the CPU time
   per request of this client, the server's processes and all PostgreSQL processes (from
   /proc; PostgreSQL's figure includes other sessions' work on a shared machine).
4. With `--faults`: a run during which one gunicorn worker is SIGKILLed, and a run during
   which every database connection of the temporary database is terminated
   (pg_terminate_backend: the same effect on the app as a database restart, without
   disturbing the other databases on the shared server). Clients retry a failed request
   with the same request_id; afterwards every retried request_id must answer its committed
   result and nothing may be half-written.
5. An audit query: no member-year past its cap, ledger = sum of claims, no settlement id
   committed twice, no request without its claims or claims without their request; the
   reports' rollups equal a fresh count of the claims (`huzhu report-rollup check`).
Prints one JSON line with every figure last. Only loopback traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
# Parallel sessions on one machine: each can name its own template (a template migrated by
# another branch's code may not match this one's models).
TEMPLATE = os.environ.get("HUZHU_BENCH_TEMPLATE", "huzhu_bench_onestop_template")
FIELD_KEY = "q4b2C0Pp5Yv9bJ6Vd0o9m1cQ9a3kq2Nq3Gk7dYbXo1M="
SECRET_KEY = "bench-secret-key-not-for-production-" + "y" * 20
CAP_FEN = 3_000_000
DEDUCTIBLE_FEN = 50_000


def _admin(sql: str, params=None):
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


def _admin_db(db: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}", autocommit=True) as conn:
        conn.execute(sql)


def _env(db: str) -> dict:
    env = dict(os.environ)
    env.pop("DEBUG", None)
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{db}",
        SECRET_KEY=SECRET_KEY,
        HUZHU_FIELD_KEY=FIELD_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CONN_MAX_AGE="600",
        HUZHU_VAR_DIR="/tmp/huzhu_bench_onestop_var",
    )
    return env


def ensure_template(fresh: bool) -> None:
    exists = _admin("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE])
    if exists and fresh:
        _admin(f'DROP DATABASE "{TEMPLATE}"')
    if not exists or fresh:
        _admin(f'CREATE DATABASE "{TEMPLATE}"')
    # Always: applies migrations added since the template was built (a no-op otherwise).
    t = time.perf_counter()
    subprocess.run(
        [str(REPO / ".venv/bin/huzhu"), "migrate", "--noinput", "-v", "0"],
        env=_env(TEMPLATE),
        check=True,
    )
    print(f"template migrated in {time.perf_counter() - t:.0f} s", file=sys.stderr)


def seed(n_members: int) -> dict:
    """Plan, members (renewals), a hospital and its key, in the temporary database."""
    import django

    django.setup()
    from django.db import transaction

    from huzhu.api.keys import api_key_create
    from huzhu.enrollment.models import Enrollment, SchemeYear
    from huzhu.hospitals.models import Hospital
    from huzhu.members.idnumbers import check_digit
    from huzhu.members.models import Member
    from huzhu.organizations.models import Union, UnionKind
    from huzhu.plans.services import plan_load

    with transaction.atomic():
        y2025 = SchemeYear.objects.create(
            year=2025,
            start=dt.date(2025, 1, 1),
            end=dt.date(2025, 12, 31),
            fee_per_member_fen=6000,
            waiting_period_days=90,
        )
        y2026 = SchemeYear.objects.create(
            year=2026,
            start=dt.date(2026, 1, 1),
            end=dt.date(2026, 12, 31),
            fee_per_member_fen=6000,
            waiting_period_days=90,
        )
        plan_load(
            source_text=(REPO / "benchmarks/plan-2026.yaml").read_text(encoding="utf-8"),
            source_name="2026.yaml",
        )
        fed = Union.objects.create(code="B000", name="总工会", kind=UnionKind.FEDERATION)
        union = Union.objects.create(
            code="B001", name="第1工会", kind=UnionKind.WORKPLACE, parent=fed
        )
        ids = []
        for i in range(n_members):  # unique up to 12 million members
            birth = dt.date(1960, 1, 1) + dt.timedelta(days=i % 12000)
            ids.append(f"330683{birth:%Y%m%d}{i // 12000 % 1000:03d}")
        members = Member.objects.bulk_create(
            [
                Member(
                    id_number=f + check_digit(f),
                    name=f"职工{i}",
                    sex="male" if int(f[16]) % 2 else "female",
                    birth_date=dt.date(int(f[6:10]), int(f[10:12]), int(f[12:14])),
                    union=union,
                )
                for i, f in enumerate(ids)
            ],
            batch_size=5000,
        )
        Enrollment.objects.bulk_create(
            [
                Enrollment(
                    member=m,
                    scheme_year=y,
                    union=union,
                    enrolled_on=y.start - dt.timedelta(days=30),
                    fee_fen=6000,
                )
                for m in members
                for y in (y2025, y2026)
            ],
            batch_size=5000,
        )
        h = Hospital(code="H001", name="嵊州市人民医院", level="三级乙等", bank_name="工商银行")
        h.bank_account = "6222021234567890123"
        h.save()
        key, secret = api_key_create(kind="hospital", owner_code="H001")
    return {"ids": [m.id_number for m in members], "key_id": key.key_id, "secret": secret}


# --- the load driver ---------------------------------------------------------------------------


class Conn:
    """One persistent HTTP/1.1 connection (keep-alive), reopened after any failure."""

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except OSError:
                pass
        self.reader = self.writer = None

    async def post(self, path: str, raw: bytes, headers: dict) -> tuple[int, bytes | None]:
        """(status, body); status 0 when the connection dropped without an answer."""
        try:
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
            self.writer.write(
                (
                    f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
                    f"Content-Length: {len(raw)}\r\n\r\n"
                ).encode()
                + raw
            )
            top = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 30)
            lines = top.decode("latin-1").split("\r\n")
            status = int(lines[0].split()[1])
            fields = {}
            for line in lines[1:]:
                if ":" in line:
                    k, v = line.split(":", 1)
                    fields[k.strip().lower()] = v.strip()
            if "content-length" in fields:
                body = await self.reader.readexactly(int(fields["content-length"]))
            elif fields.get("transfer-encoding") == "chunked":
                body = b""
                while True:
                    size = int((await self.reader.readuntil(b"\r\n")).strip(), 16)
                    chunk = await self.reader.readexactly(size + 2)
                    if size == 0:
                        break
                    body += chunk[:-2]
            else:
                body = await self.reader.read()
                await self.close()
            if fields.get("connection", "").lower() == "close":
                await self.close()
            return status, body
        except (
            TimeoutError,
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            ValueError,
            IndexError,
        ):
            await self.close()
            return 0, None


class Driver:
    """Closed-loop clients in one asyncio loop, each with its own keep-alive connection: the
    client costs little CPU, which matters when it shares the 2 cores with the server."""

    def __init__(self, port: int, key_id: str, secret: str, ids: list[str]):
        self.port = port
        self.key_id = key_id
        self.secret = secret.encode()
        self.ids = ids
        self.seq = 0
        self.committed: dict[str, tuple[dict, dict]] = {}  # request_id -> (body, 1st answer)
        self.retried: set[str] = set()

    def next_n(self) -> int:
        self.seq += 1
        return self.seq

    def signed(self, path: str, body: dict) -> tuple[bytes, dict]:
        """The body and its headers, signed as huzhu.api.keys.sign does: timestamp, method,
        path and raw body."""
        raw = json.dumps(body, ensure_ascii=False).encode()
        ts = str(int(time.time()))
        message = f"{ts}\nPOST\n{path}\n".encode() + raw
        sig = hmac.new(self.secret, message, hashlib.sha256).hexdigest()
        return raw, {
            "Content-Type": "application/json",
            "X-Huzhu-Key": self.key_id,
            "X-Huzhu-Timestamp": ts,
            "X-Huzhu-Signature": sig,
        }

    async def send(self, conn: Conn, path: str, body: dict) -> tuple[int, dict | None, float]:
        raw, headers = self.signed(path, body)
        t = time.perf_counter()
        status, data = await conn.post(path, raw, headers)
        d = time.perf_counter() - t
        try:
            payload = json.loads(data) if data else None
        except ValueError:
            payload = None
        return status, payload, d

    def stay(self, n: int, rng: random.Random) -> dict:
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(0, 320))
        base_fen = rng.randrange(50_000, 4_000_000)
        # Amounts that add up (fund + self-pay in + out = total), as the bureau's do: a stay
        # whose amounts disagree goes to a reviewer (answer needs_review), as in the import.
        return {
            "hospital_code": "H001",
            "settlement_id": f"L{n:09d}",
            "id_number": rng.choice(self.ids),
            "admit_date": (day - dt.timedelta(days=rng.randrange(1, 15))).isoformat(),
            "discharge_date": day.isoformat(),
            "total_cost": f"{(2_000_000 + base_fen) // 100}.{base_fen % 100:02d}",
            "fund_paid": "20000.00",
            "self_pay_in_policy": f"{base_fen // 100}.{base_fen % 100:02d}",
            "self_pay_out_policy": "0.00",
            "diagnosis_code": "J18.900",
        }

    def run(self, **kw) -> dict:
        return asyncio.run(self._run(**kw))

    async def _run(
        self, *, clients: int, seconds: float, max_requests: int, pairs: bool, fault=None
    ) -> dict:
        stop = time.perf_counter() + seconds
        budget = [max_requests]
        lat = {"settle": [], "presettle": []}
        errors = {"first_attempt": 0, "final": 0, "non_200": 0}

        async def client(seed_: int):
            rng = random.Random(seed_)
            conn = Conn(self.port)
            while time.perf_counter() < stop and budget[0] > 0:
                budget[0] -= 1
                n = self.next_n()
                body = self.stay(n, rng)
                if pairs:
                    status, _, d = await self.send(conn, "/api/onestop/presettle", body)
                    lat["presettle"].append(d)
                    if status != 200:
                        errors["non_200"] += 1
                rid = f"req-{n}"
                body = {**body, "request_id": rid}
                for attempt in range(50):
                    status, payload, d = await self.send(conn, "/api/onestop/settle", body)
                    if status == 200:
                        if attempt == 0:
                            lat["settle"].append(d)
                        self.committed[rid] = (body, payload)
                        break
                    if attempt == 0:
                        errors["first_attempt"] += 1
                        kind = f"first_attempt_http_{status}" if status else "first_attempt_dropped"
                        errors[kind] = errors.get(kind, 0) + 1
                    self.retried.add(rid)
                    await asyncio.sleep(0.2)
                else:
                    errors["final"] += 1
            await conn.close()

        base_seed = self.seq  # a new sequence of members in every run
        backends = _our_backends()
        cpu0 = _cpu_now(backends)
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(client(base_seed + i * 7919)) for i in range(clients)]
        if fault is not None:
            await asyncio.get_running_loop().run_in_executor(None, fault)
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        cpu = _cpu_now(_our_backends())
        n = len(lat["settle"]) + len(lat["presettle"])
        out = {
            "clients": clients,
            "wall_s": round(wall, 2),
            "settles": len(lat["settle"]),
            "settles_per_s": round(len(lat["settle"]) / wall, 1),
            **{f"settle_{k}": v for k, v in _pcts(lat["settle"]).items()},
            **errors,
            "load_avg_1m": round(os.getloadavg()[0], 1),
            "cpu_ms_per_request": _cpu_split(cpu0, cpu, n),
        }
        if pairs:
            out["presettles"] = len(lat["presettle"])
            out.update({f"presettle_{k}": v for k, v in _pcts(lat["presettle"]).items()})
        return out


def baseline(port: int, *, clients: int, seconds: float) -> dict:
    """The same server answering an unsigned settle (401, no database query): what Django,
    Ninja and gunicorn cost per request on this machine right now."""

    async def go():
        stop = time.perf_counter() + seconds
        lat: list[float] = []

        async def client():
            conn = Conn(port)
            while time.perf_counter() < stop:
                t = time.perf_counter()
                status, _ = await conn.post(
                    "/api/onestop/settle", b"{}", {"Content-Type": "application/json"}
                )
                if status:
                    lat.append(time.perf_counter() - t)
            await conn.close()

        cpu0 = _cpu_now()
        t0 = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(clients)))
        wall = time.perf_counter() - t0
        return {
            "clients": clients,
            "requests": len(lat),
            "per_s": round(len(lat) / wall, 1),
            **_pcts(lat),
            "load_avg_1m": round(os.getloadavg()[0], 1),
            "cpu_ms_per_request": _cpu_split(cpu0, _cpu_now(), len(lat)),
        }

    return asyncio.run(go())


# --- CPU accounting: this client, the server's processes, PostgreSQL's backends ---------------

SERVER_PIDS: list[int] = []  # the server's master (its workers are found as its children)


def _ticks(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        return int(parts[11]) + int(parts[12])  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def _pg_pids() -> list[int]:
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/comm") as f:
                    if f.read().strip() == "postgres":
                        out.append(int(d))
            except OSError:
                pass
    return out


BENCH_DB: list[str] = []  # the temporary database's name


def _our_backends() -> list[int]:
    """The PostgreSQL backends serving the temporary database (the server's persistent
    connections), found at the start of a run."""
    if not BENCH_DB:
        return []
    rows = _admin(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        [BENCH_DB[0]],
    )
    return [r[0] for r in rows]


def _cpu_now(backends: list[int] | None = None) -> dict:
    """CPU ticks so far: this process, the server (master + workers), every postgres process
    (the whole PostgreSQL server: other sessions' work on the shared machine counts too),
    the backends of our database only, and the whole machine."""
    server = 0
    for master in SERVER_PIDS:
        server += _ticks(master) + sum(_ticks(w) for w in _children(master))
    return {
        "client": _ticks(os.getpid()),
        "server": server,
        "postgres": sum(_ticks(p) for p in _pg_pids()),
        "pg_backends": {p: _ticks(p) for p in backends or []},
        "total": _total_ticks(),
    }


def _total_ticks() -> int:
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    return sum(int(x) for x in parts[:3]) + sum(int(x) for x in parts[5:8])  # busy, not idle


def _cpu_split(before: dict, after: dict, requests: int) -> dict:
    hz = os.sysconf("SC_CLK_TCK")
    if not requests:
        return {}
    out = {
        k: round(1000 * (after[k] - before[k]) / hz / requests, 2)
        for k in ("client", "server", "postgres", "total")
    }
    # Backends that connected during the run count from zero.
    ticks = sum(t - before["pg_backends"].get(p, 0) for p, t in after["pg_backends"].items())
    out["pg_backends"] = round(1000 * ticks / hz / requests, 2)
    # Ours: this client, the server and the backends of our database (PostgreSQL's shared
    # background processes, WAL writer and checkpointer, are left out).
    out["ours"] = round(out["client"] + out["server"] + out["pg_backends"], 2)
    return out


def _pcts(values: list[float]) -> dict:
    if not values:
        return {}
    v = sorted(values)

    def p(q):
        return round(1000 * v[min(len(v) - 1, int(q * len(v)))], 1)

    return {
        "p50_ms": p(0.50),
        "p95_ms": p(0.95),
        "p99_ms": p(0.99),
        "max_ms": round(1000 * v[-1], 1),
    }


# --- server ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(db: str, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    """The server as deployed: `gunicorn -c python:huzhu.gunicorn_conf` (gthread workers,
    keep-alive)."""
    env = _env(db)
    env.update(HUZHU_BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY=str(workers))
    env["HUZHU_THREADS"] = str(threads)
    proc = subprocess.Popen(
        [
            str(REPO / ".venv/bin/gunicorn"),
            "-c",
            "python:huzhu.gunicorn_conf",
            "--error-logfile",
            str(log),
            "huzhu.wsgi:application",
        ],
        env=env,
        cwd=str(REPO),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_ready(port)
    return proc


def start_granian(db: str, port: int, workers: int, threads: int, log: Path) -> subprocess.Popen:
    """granian (Rust HTTP server, WSGI interface): `--workers` processes of `--threads`
    blocking threads, keep-alive, failed workers respawned."""
    proc = subprocess.Popen(
        [
            str(REPO / ".venv/bin/granian"),
            "--interface",
            "wsgi",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--blocking-threads",
            str(threads),
            "--runtime-threads",
            "1",
            "--backlog",
            "2048",
            "--no-ws",
            "--respawn-failed-workers",
            "--respawn-interval",
            "0.5",
            "--log-level",
            "warning",
            "huzhu.wsgi:application",
        ],
        env=_env(db),
        cwd=str(REPO),
        stdout=subprocess.DEVNULL,
        stderr=open(log, "w"),  # noqa: SIM115 (closed with the process)
    )
    _wait_ready(port)
    return proc


def _wait_ready(port: int) -> None:
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.5)
    time.sleep(3)  # every worker imports the project and connects


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


# --- audit -------------------------------------------------------------------------------------


AUDIT_SQL = {
    "member_years_past_cap": f"""
        SELECT count(*) FROM (
          SELECT member_id, scheme_year_id FROM claims_claim
          WHERE benefit_code = 'inpatient' AND status IN ('approved', 'paid')
          GROUP BY 1, 2 HAVING sum(amount_fen) > {CAP_FEN}) t""",
    "ledgers_past_cap_or_deductible": f"""
        SELECT count(*) FROM claims_memberyearledger
        WHERE paid_toward_cap_fen > {CAP_FEN} OR deductible_used_fen > {DEDUCTIBLE_FEN}""",
    "ledger_differs_from_claims": """
        SELECT count(*) FROM claims_memberyearledger l LEFT JOIN (
          SELECT member_id, scheme_year_id, sum(amount_fen) s FROM claims_claim
          WHERE benefit_code = 'inpatient' AND status IN ('approved', 'paid')
          GROUP BY 1, 2) c USING (member_id, scheme_year_id)
        WHERE l.paid_toward_cap_fen <> coalesce(c.s, 0)""",
    "settlements_committed_twice": """
        SELECT count(*) FROM (SELECT settlement_id FROM claims_claim
          WHERE settlement_id IS NOT NULL AND benefit_code = 'inpatient'
          GROUP BY 1 HAVING count(*) > 1) t""",
    "requests_without_claim": """
        SELECT count(*) FROM hospitals_onestoprequest r
        WHERE r.action = 'settle' AND r.code = 'ok' AND NOT EXISTS (
          SELECT 1 FROM claims_claim c WHERE c.settlement_id = r.settlement_id)""",
    "onestop_claims_without_transition_or_notification": """
        SELECT count(*) FROM claims_claim c WHERE c.source = 'onestop' AND (
          NOT EXISTS (SELECT 1 FROM claims_claimtransition t WHERE t.claim_id = c.id)
          OR NOT EXISTS (SELECT 1 FROM claims_notification n WHERE n.claim_id = c.id))""",
    "claims_without_request": """
        SELECT count(*) FROM claims_claim c WHERE c.source = 'onestop' AND NOT EXISTS (
          SELECT 1 FROM hospitals_onestoprequest r
          WHERE r.settlement_id = c.settlement_id AND r.action = 'settle')""",
}


def audit(db: str) -> dict:
    import psycopg

    out = {}
    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{db}") as conn:
        for name, sql in AUDIT_SQL.items():
            out[name] = conn.execute(sql).fetchone()[0]
        out["onestop_claims"] = conn.execute(
            "SELECT count(*) FROM claims_claim WHERE source = 'onestop'"
        ).fetchone()[0]
        out["notifications_undelivered"] = conn.execute(
            "SELECT count(*) FROM claims_notification WHERE sent_at IS NULL"
        ).fetchone()[0]
        out["member_years_at_cap"] = conn.execute(
            f"SELECT count(*) FROM claims_memberyearledger WHERE paid_toward_cap_fen = {CAP_FEN}"
        ).fetchone()[0]
        has_rollups = conn.execute("SELECT to_regclass('reports_claimfacts')").fetchone()[0]
    if has_rollups:
        # The reports' rollups (kept by triggers on claims_claim, every settle of one union in
        # one month writes the same keys) must equal a fresh count of the claims.
        done = subprocess.run(
            [str(REPO / ".venv/bin/huzhu"), "report-rollup", "check"],
            env=_env(db),
            capture_output=True,
            text=True,
        )
        check = json.loads(done.stdout.strip().splitlines()[-1])
        # Rollup keys that differ (1 when only the triggers are missing); 0 when they agree.
        out["rollups_wrong"] = 0 if check["ok"] else max(1, check["differences_count"])
    return out


def verify_retries(driver: Driver, sample: int = 300) -> dict:
    """Every retried request_id (and a sample of the others) answers its committed result."""
    rids = list(driver.retried & driver.committed.keys())
    others = [r for r in driver.committed if r not in driver.retried]
    random.Random(1).shuffle(others)

    async def go():
        conn = Conn(driver.port)
        checked = mismatched = 0
        for rid in rids + others[:sample]:
            body, first = driver.committed[rid]
            status, again, _ = await driver.send(conn, "/api/onestop/settle", body)
            checked += 1
            if status != 200 or again != first:
                mismatched += 1
        await conn.close()
        return {"retried_request_ids": len(rids), "rechecked": checked, "mismatched": mismatched}

    return asyncio.run(go())


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=20000)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--server", choices=["gunicorn", "granian"], default="granian")
    ap.add_argument("--levels", default="4,8,16,32")
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--max-requests", type=int, default=6000)
    ap.add_argument("--faults", action="store_true", help="kill a worker; drop DB connections")
    ap.add_argument(
        "--pg-restart",
        action="store_true",
        help="restart the PostgreSQL server mid-load (pg_ctlcluster; disturbs every other "
        "user of the server for a few seconds)",
    )
    ap.add_argument("--no-pairs", action="store_true")
    ap.add_argument("--fresh-template", action="store_true")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--port", type=int, default=0, help="server port (default: any free one)")
    args = ap.parse_args()

    ensure_template(args.fresh_template)
    db = f"huzhu_bench_onestop_{os.getpid()}"
    _admin(f'CREATE DATABASE "{db}" TEMPLATE "{TEMPLATE}"')
    BENCH_DB[:] = [db]
    os.environ.update(_env(db))
    os.environ["DJANGO_SETTINGS_MODULE"] = "huzhu.settings"
    figures: dict = {
        "members": args.members,
        "workers": args.workers,
        "threads": args.threads,
        "server": args.server,
        "cpus": os.cpu_count(),
    }
    server = None
    try:
        t = time.perf_counter()
        data = seed(args.members)
        figures["seed_s"] = round(time.perf_counter() - t, 1)
        from django.db import connections

        connections.close_all()
        port = args.port or free_port()
        log = Path(f"/tmp/huzhu_bench_onestop_{os.getpid()}.log")
        start = start_granian if args.server == "granian" else start_gunicorn
        server = start(db, port, args.workers, args.threads, log)
        SERVER_PIDS[:] = [server.pid]
        driver = Driver(port, data["key_id"], data["secret"], data["ids"])
        # Warm-up, then ANALYZE: a deployed database has statistics (autovacuum analyzes a
        # table within a minute of it changing). Without them the planner keeps its plans for
        # an empty claims table (sequential scans) while the run grows it to 10,000+ claims,
        # and the stay's neighbouring-claims lookup gets slower with every settle.
        driver.run(clients=4, seconds=8, max_requests=1500, pairs=False)
        _admin_db(db, "ANALYZE")
        figures["baseline_unsigned_401"] = baseline(port, clients=8, seconds=6)
        print(json.dumps({"run": "baseline", **figures["baseline_unsigned_401"]}), file=sys.stderr)
        runs = []
        for level in [int(x) for x in args.levels.split(",") if x]:
            r = driver.run(
                clients=level, seconds=args.seconds, max_requests=args.max_requests, pairs=False
            )
            runs.append(r)
            print(json.dumps({"run": "settle", **r}), file=sys.stderr)
        figures["settle_runs"] = runs
        if not args.no_pairs:
            pair = driver.run(
                clients=16, seconds=args.seconds, max_requests=args.max_requests, pairs=True
            )
            print(json.dumps({"run": "pairs", **pair}), file=sys.stderr)
            figures["pairs_run"] = pair
        figures["audit_after_speed_runs"] = audit(db)
        print(json.dumps({"audit": figures["audit_after_speed_runs"]}), file=sys.stderr)

        def fault_run(name: str, fault, **extra) -> dict:
            """One 16-client run with `fault` happening a third of the way in; every retried
            request is checked to have got the same answer."""
            driver.retried.clear()
            r = driver.run(
                clients=16,
                seconds=args.seconds,
                max_requests=args.max_requests,
                pairs=False,
                fault=fault,
            )
            r.update({k: f() for k, f in extra.items()})
            r["verify"] = verify_retries(driver)
            print(json.dumps({"run": name, **r}), file=sys.stderr)
            figures[name] = r
            return r

        if args.faults:

            def kill_worker():
                time.sleep(args.seconds / 3)
                pids = worker_pids(server.pid)
                if pids:
                    os.kill(pids[0], signal.SIGKILL)
                    figures["killed_worker"] = pids[0]

            fault_run(
                "fault_kill_worker",
                kill_worker,
                workers_after=lambda: len(worker_pids(server.pid)),
            )

            def drop_connections():
                time.sleep(args.seconds / 3)
                rows = _admin(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    [db],
                )
                figures["terminated_backends"] = rows[0][0]

            fault_run("fault_db_connections", drop_connections)
        if args.pg_restart:

            def restart_postgres():
                time.sleep(args.seconds / 3)
                t = time.perf_counter()
                done = subprocess.run(
                    ["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "restart"],
                    capture_output=True,
                    text=True,
                )
                figures["pg_restart"] = {
                    "rc": done.returncode,
                    "seconds": round(time.perf_counter() - t, 2),
                    "at_s": round(args.seconds / 3, 1),
                }

            fault_run(
                "fault_pg_restart", restart_postgres, pg_restart=lambda: figures.get("pg_restart")
            )
        if args.faults or args.pg_restart:
            # After the faults the server answers normally again, by itself.
            r = driver.run(clients=8, seconds=5, max_requests=1000, pairs=False)
            figures["after_faults"] = {
                k: r[k] for k in ("settles", "settles_per_s", "first_attempt", "workers") if k in r
            }
            figures["after_faults"]["workers"] = len(worker_pids(server.pid))
            print(json.dumps({"run": "after_faults", **figures["after_faults"]}), file=sys.stderr)
        figures["audit"] = audit(db)
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        from django.db import connections

        connections.close_all()
        if not args.keep:
            _admin(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [db],
            )
            _admin(f'DROP DATABASE IF EXISTS "{db}"')
    print(json.dumps(figures, ensure_ascii=False))
    bad = {
        k: v
        for k, v in figures.get("audit", {}).items()
        if k not in ("onestop_claims", "member_years_at_cap", "notifications_undelivered") and v
    }
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
