"""The cluster test on one machine, run by `deploy/local-cluster.sh` (see there for usage).

1. A database of its own (`huzhu_cluster_<pid>`, copied from a migrated template
   `huzhu_cluster_template`), seeded as the one-stop benchmark seeds (plan, members, hospital
   key), plus a reviewer (with a confirmed TOTP device) and a member login.
2. Starts moto's S3 server, two app servers (granian, as the one-stop benchmark), two RQ
   workers (`huzhu rqworker default`, each with the scheduler thread), and nginx in front of
   the app servers with its own prefix and configuration in a temporary folder. All on
   127.0.0.1; every server in its own process group.
3. A member uploads a paper through app server 1; it must be readable through app server 2.
4. The load: closed-loop signed one-stop settles through nginx (the benchmark's driver; a
   client retries a failed request with the same request_id). Meanwhile a reviewer uploads a
   settlement file through nginx; as soon as a worker runs its import, that worker is killed
   (SIGKILL, its work-horse too); a third of the way in, app server 1 is killed.
5. Checks: no settle lost or doubled (every acknowledged settle has exactly one claim and
   transition, retried request ids answer their first answer, the benchmark's audit query),
   the upload finished on the other worker and its claims exist once, no notification twice,
   the reports' rollups equal a fresh count of the claims (`huzhu report-rollup check`: the
   import and the settles wrote them at once), the paper readable through the surviving
   server. Prints the figures as JSON (last line);
   exit status 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
BIN = Path(sys.executable).parent

from onestop_load import AUDIT_SQL, CAP_FEN, Driver, verify_retries  # noqa: E402 (benchmarks/)

PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
TEMPLATE = "huzhu_cluster_template"
SECRET_KEY = "cluster-secret-key-not-for-production-" + "z" * 20
FIELD_KEY = "q4b2C0Pp5Yv9bJ6Vd0o9m1cQ9a3kq2Nq3Gk7dYbXo1M="
BUCKET = "huzhu-cluster"

NGINX_CONF = """\
# nginx for deploy/local-cluster.sh: loopback only, own prefix; the proxy settings are those
# of deploy/nginx.conf (without TLS).
daemon off;
worker_processes 1;
{user}
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;

    upstream huzhu_app {{
{servers}
        keepalive 64;
    }}

    server {{
        listen 127.0.0.1:{listen};
        client_max_body_size 60m;
        location = /metrics {{ return 404; }}
        location / {{
            proxy_pass http://huzhu_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Request-ID $request_id;
            # A POST is passed to the next server only if it was not sent yet (connection
            # refused): a settle is never sent twice by the proxy.
            proxy_next_upstream error timeout http_502 http_503;
            proxy_connect_timeout 2s;
            proxy_read_timeout 120s;
        }}
    }}
}}
"""


def render_nginx_conf(*, prefix: Path, listen_port: int, app_ports: list[int]) -> str:
    servers = "\n".join(
        f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in app_ports
    )
    user = "user root;" if os.geteuid() == 0 else ""  # workers must write the temp folders
    return NGINX_CONF.format(prefix=prefix, listen=listen_port, servers=servers, user=user)


def nginx_check(nginx: str, conf: Path, prefix: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [nginx, "-t", "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")],
        capture_output=True,
        text=True,
    )


def cluster_env(db: str, *, redis_url: str, s3_endpoint: str, var_dir: Path) -> dict:
    """The settings every app server and worker of the cluster shares (an env file's)."""
    env = dict(os.environ)
    for name in ("DEBUG", "HUZHU_DOCUMENT_DIR", "DJANGO_SETTINGS_MODULE"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{db}",
        SECRET_KEY=SECRET_KEY,
        HUZHU_FIELD_KEY=FIELD_KEY,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        CONN_MAX_AGE="600",
        HUZHU_VAR_DIR=str(var_dir),
        HUZHU_TASKS="rq",
        REDIS_URL=redis_url,
        HUZHU_STORAGE="s3",
        HUZHU_S3_ENDPOINT_URL=s3_endpoint,
        HUZHU_S3_BUCKET=BUCKET,
        HUZHU_S3_ACCESS_KEY="cluster",
        HUZHU_S3_SECRET_KEY="cluster-secret",
        HUZHU_S3_REGION="us-east-1",
        HUZHU_TRUSTED_PROXIES="1",
        HUZHU_NOTIFY_CHANNELS="console",
        HUZHU_SCHEDULER_TICK="5",
    )
    return env


# --- processes ---------------------------------------------------------------------------


class Cluster:
    """The processes started, each in its own process group (a kill takes its children)."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=str(REPO),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.procs[name] = proc
        return proc

    def kill(self, name: str) -> float:
        """SIGKILL the process group of `name` (a machine lost); returns the time."""
        proc = self.procs[name]
        # RQ's work-horse and granian's workers may sit in process groups of their own.
        pids = [proc.pid, *descendants(proc.pid)]
        at = time.time()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        proc.wait(timeout=30)
        return at

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                for pid in [proc.pid, *descendants(proc.pid)]:
                    try:
                        os.kill(pid, signal.SIGTERM)
                    except ProcessLookupError:
                        pass
        deadline = time.time() + 20
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                for pid in [proc.pid, *descendants(proc.pid)]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass

    def log_tail(self, name: str, n: int = 2000) -> str:
        return (self.folder / f"{name}.log").read_text(errors="replace")[-n:]


def descendants(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    kids = [int(x) for x in out.split()]
    return kids + [g for k in kids for g in descendants(k)]


def wait_http(url: str, seconds: float = 180, ok=(200,)) -> float:
    t0 = time.time()
    while time.time() - t0 < seconds:
        try:
            with urllib.request.urlopen(url, timeout=3) as r:
                if r.status in ok:
                    return time.time() - t0
        except Exception:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer in {seconds} s")


def granian(port: int, threads: int) -> list[str]:
    return [
        str(BIN / "granian"),
        "--interface",
        "wsgi",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--blocking-threads",
        str(threads),
        "--runtime-threads",
        "1",
        "--backlog",
        "2048",
        "--no-ws",
        "--log-level",
        "warning",
        "huzhu.wsgi:application",
    ]


# --- database ----------------------------------------------------------------------------


def _admin(sql: str, params=None):
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        cur = conn.execute(sql, params)
        return cur.fetchall() if cur.description else None


def make_database(db: str, env: dict) -> None:
    if not _admin("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE]):
        _admin(f'CREATE DATABASE "{TEMPLATE}"')
    subprocess.run(
        [sys.executable, "-m", "huzhu", "migrate", "--noinput", "-v", "0"],
        env={**env, "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{TEMPLATE}"},
        cwd=str(REPO),
        check=True,
    )
    _admin(f'CREATE DATABASE "{db}" TEMPLATE "{TEMPLATE}"')


def drop_database(db: str) -> None:
    _admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [db])
    _admin(f'DROP DATABASE IF EXISTS "{db}"')


def seed_people() -> dict:
    """A reviewer (TOTP confirmed) and a member login, with a session cookie each (sessions
    live in the shared database, as after a real login)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from huzhu.api.member import member_token_issue
    from huzhu.members.models import Member
    from huzhu.organizations.models import Role, Union, User

    fed = Union.objects.get(code="B000")
    reviewer = User.objects.create_user(
        username="cluster_reviewer", password=None, role=Role.FEDERATION_REVIEWER, union=fed
    )
    device = TOTPDevice.objects.create(user=reviewer, name="cluster", confirmed=True)
    staff = Client()
    staff.force_login(reviewer, backend="django.contrib.auth.backends.ModelBackend")
    session = staff.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    member = Member.objects.order_by("pk").first()
    login = User.objects.create_user(
        username="cluster_member", password=None, role=Role.MEMBER, phone="13900000001"
    )
    member.user = login
    member.save(update_fields=["user"])
    portal = Client()
    portal.force_login(login, backend="django.contrib.auth.backends.ModelBackend")
    from django.conf import settings

    name = settings.SESSION_COOKIE_NAME
    return {
        "staff_cookie": {name: session.session_key},
        "member_cookie": {name: portal.cookies[name].value},
        "member_token": member_token_issue(login),
    }


def settlement_file(path: Path, ids: list[str], rows: int) -> None:
    """A bureau file of `rows` stays of the seeded members (settlement ids C…, apart from the
    one-stop load's L…)."""
    import datetime as dt
    import random

    rng = random.Random(20)
    header = (
        "settlement_id,id_number,name,hospital,hospital_level,admit_date,discharge_date,"
        "total_cost,fund_paid,self_pay_in_policy,self_pay_out_policy,diagnosis_code,"
        "out_of_area,reverses"
    )
    lines = [header]
    for i in range(rows):
        k = rng.randrange(len(ids))
        day = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randrange(20, 320))
        inpol = rng.randrange(50_000, 2_000_000)
        lines.append(
            f"C{i:09d},{ids[k]},职工{k},嵊州市人民医院,3,"
            f"{day - dt.timedelta(days=rng.randrange(1, 12))},{day},"
            f"{(2_000_000 + inpol) / 100:.2f},20000.00,{inpol / 100:.2f},0.00,J18.900,0,"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# --- HTTP pieces -------------------------------------------------------------------------


def upload_settlement(port: int, cookies: dict, path: Path) -> int:
    """The reviewer's upload page, through nginx: returns the batch id."""
    import requests

    s = requests.Session()
    s.cookies.update(cookies)
    page = s.get(f"http://127.0.0.1:{port}/staff/settlements/", timeout=60)
    page.raise_for_status()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    with open(path, "rb") as fh:
        r = s.post(
            f"http://127.0.0.1:{port}/staff/settlements/",
            data={"csrfmiddlewaretoken": token, "source": "ybj"},
            files={"file": (path.name, fh, "text/csv")},
            allow_redirects=False,
            timeout=120,
        )
    m = re.search(r"/staff/settlements/batches/(\d+)/", r.headers.get("Location", ""))
    if r.status_code != 302 or not m:
        raise RuntimeError(f"upload answered {r.status_code}: {r.text[:500]}")
    return int(m.group(1))


def paper_jpeg() -> bytes:
    import io
    import random

    from PIL import Image

    rng = random.Random(7)
    img = Image.new("RGB", (900, 1200), "white")
    px = img.load()
    for _ in range(20000):
        px[rng.randrange(900), rng.randrange(1200)] = (rng.randrange(256), 0, 0)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def paper_roundtrip(upload_port: int, read_ports: list[int], people: dict) -> dict:
    """A member uploads a paper through one app server (the API); it is read back through
    the others (the member's page)."""
    import requests

    auth = {"Authorization": f"Bearer {people['member_token']}"}
    # The member answers the consent text first (until then the member API answers 403
    # consent_required), as the app does at first login.
    consent = requests.get(
        f"http://127.0.0.1:{upload_port}/api/member/consent", headers=auth, timeout=60
    )
    if consent.status_code != 200:
        return {"ok": False, "consent_status": consent.status_code, "body": consent.text[:300]}
    if consent.json()["due"]:
        answer = requests.post(
            f"http://127.0.0.1:{upload_port}/api/member/consent",
            headers=auth,
            json={"action": "accept", "version": consent.json()["version"]},
            timeout=60,
        )
        if answer.status_code != 200:
            return {"ok": False, "consent_status": answer.status_code, "body": answer.text[:300]}
    r = requests.post(
        f"http://127.0.0.1:{upload_port}/api/member/attachments",
        headers=auth,
        data={"kind": "discharge_summary"},
        files={"file": ("出院小结.jpg", paper_jpeg(), "image/jpeg")},
        timeout=60,
    )
    if r.status_code != 201:
        return {"ok": False, "upload_status": r.status_code, "body": r.text[:300]}
    doc = r.json()["id"]
    reads = {}
    for port in read_ports:
        got = requests.get(
            f"http://127.0.0.1:{port}/m/documents/{doc}/",
            cookies=people["member_cookie"],
            timeout=60,
        )
        reads[port] = (got.status_code, got.headers.get("Content-Type"), got.content)
    bodies = {v[2] for v in reads.values()}
    ok = all(v[0] == 200 for v in reads.values()) and len(bodies) == 1 and len(bodies.pop()) > 0
    return {
        "ok": ok,
        "document": doc,
        "uploaded_through": upload_port,
        "read_through": {str(p): {"status": v[0], "bytes": len(v[2])} for p, v in reads.items()},
    }


class TimedDriver(Driver):
    """The one-stop benchmark's driver, keeping the time and status of every settle attempt."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.outcomes: list[tuple[float, int]] = []

    async def send(self, conn, path, body):
        status, payload, d = await super().send(conn, path, body)
        if path.endswith("/settle"):
            self.outcomes.append((time.time(), status))
        return status, payload, d


# --- checks ------------------------------------------------------------------------------


def settle_audit(db: str, driver) -> dict:
    """Every acknowledged settle (HTTP 200, code ok) has exactly one claim and one creation
    transition; answers without a claim left none; the benchmark's audit query."""
    import psycopg

    ok_ids, other_ids = [], []
    for body, answer in driver.committed.values():
        (ok_ids if (answer or {}).get("code") == "ok" else other_ids).append(body["settlement_id"])
    out = {"acknowledged_ok": len(ok_ids), "acknowledged_other": len(other_ids)}
    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{db}") as conn:
        rows = conn.execute(
            "SELECT c.settlement_id, count(DISTINCT c.id), count(t.id) FROM claims_claim c "
            "LEFT JOIN claims_claimtransition t ON t.claim_id = c.id AND t.from_status = '' "
            "WHERE c.settlement_id = ANY(%s) GROUP BY 1",
            [ok_ids + other_ids],
        ).fetchall()
        claims = {sid: (n, t) for sid, n, t in rows}
        out["ok_without_claim"] = sum(1 for s in ok_ids if s not in claims)
        out["ok_with_claim_twice"] = sum(1 for s in ok_ids if claims.get(s, (0, 0))[0] > 1)
        out["ok_without_one_creation_transition"] = sum(
            1 for s in ok_ids if s in claims and claims[s][1] != claims[s][0]
        )
        out["other_with_claim"] = sum(1 for s in other_ids if s in claims)
        for name, sql in AUDIT_SQL.items():
            out[name] = conn.execute(sql).fetchone()[0]
        # The cap and the ledgers by what claims are worth (domain.md: a fixed claim never
        # changes; when a stay imported later is earlier in the year, the fixed claim's
        # difference becomes a recovery or top-up item). The one-stop benchmark's audit sums
        # amounts only: right for one-stop alone, not once the import re-prices a year.
        effective = """
            SELECT c.member_id, c.scheme_year_id,
                   sum(c.amount_fen + coalesce(a.net, 0)) AS worth
            FROM claims_claim c LEFT JOIN (
              SELECT claim_id, sum(CASE WHEN kind = 'top_up' THEN amount_fen
                                        ELSE -amount_fen END) AS net
              FROM claims_adjustmentitem GROUP BY 1) a ON a.claim_id = c.id
            WHERE c.benefit_code = 'inpatient' AND c.status IN ('approved', 'paid')
            GROUP BY 1, 2"""
        out["member_years_past_cap_by_worth"] = conn.execute(
            f"SELECT count(*) FROM ({effective}) w WHERE w.worth > {CAP_FEN}"
        ).fetchone()[0]
        out["ledger_differs_from_worth"] = conn.execute(
            f"""SELECT count(*) FROM claims_memberyearledger l LEFT JOIN ({effective}) w
                USING (member_id, scheme_year_id)
                WHERE l.paid_toward_cap_fen <> coalesce(w.worth, 0)"""
        ).fetchone()[0]
        out["adjustment_items"] = conn.execute(
            "SELECT count(*) FROM claims_adjustmentitem"
        ).fetchone()[0]
        # Diagnosis of a cap breach: member-years with claims of both channels (one-stop and
        # the bureau file import running at the same time).
        out["past_cap_with_both_channels"] = conn.execute(
            f"""SELECT count(*) FROM (
              SELECT member_id, scheme_year_id FROM claims_claim
              WHERE benefit_code = 'inpatient' AND status IN ('approved', 'paid')
              GROUP BY 1, 2 HAVING sum(amount_fen) > {CAP_FEN}
                AND bool_or(source = 'onestop') AND bool_or(source <> 'onestop')) t"""
        ).fetchone()[0]
        out["notifications_twice"] = conn.execute(
            "SELECT count(*) FROM (SELECT claim_id, kind FROM claims_notification "
            "WHERE claim_id IS NOT NULL GROUP BY 1, 2 HAVING count(*) > 1) t"
        ).fetchone()[0]
    return out


def batch_audit(db: str, batch_id: int) -> dict:
    import psycopg

    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{db}") as conn:
        state, error, counts, upload = conn.execute(
            "SELECT state, error, rows_total, upload_path FROM settlements_settlementbatch "
            "WHERE id = %s",
            [batch_id],
        ).fetchone()
        claims, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT settlement_id) FROM claims_claim "
            "WHERE settlement_id LIKE 'C%%'"
        ).fetchone()
        records = conn.execute(
            "SELECT count(*), count(DISTINCT settlement_id) FROM settlements_settlementrecord "
            "WHERE batch_id = %s",
            [batch_id],
        ).fetchone()
    return {
        "state": state,
        "error": error,
        "rows": counts,
        "upload_left": bool(upload),
        "claims": claims,
        "claims_distinct_settlements": distinct,
        "records": records[0],
        "records_distinct": records[1],
    }


# --- the run -----------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--members", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rows", type=int, default=20000, help="rows of the settlement upload")
    ap.add_argument("--threads", type=int, default=4, help="blocking threads per app server")
    ap.add_argument("--base-port", type=int, default=8200)
    ap.add_argument("--redis-db", type=int, default=13)
    ap.add_argument("--keep", action="store_true", help="keep the database and the folder")
    ap.add_argument(
        "--upload",
        choices=["during", "after"],
        default="during",
        help="upload the settlement file during the one-stop load (the test) or after it "
        "(to tell a problem of the two together from one of either alone)",
    )
    args = ap.parse_args()

    import redis

    nginx = os.environ.get("NGINX") or shutil.which("nginx") or "/usr/sbin/nginx"
    port_nginx, app_ports = args.base_port, [args.base_port + 1, args.base_port + 2]
    port_s3 = args.base_port + 10
    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    redis.Redis.from_url(redis_url).flushdb()
    folder = Path(tempfile.mkdtemp(prefix="huzhu-cluster-"))
    db = f"huzhu_cluster_{os.getpid()}"
    env = cluster_env(
        db, redis_url=redis_url, s3_endpoint=f"http://127.0.0.1:{port_s3}", var_dir=folder / "var"
    )
    cluster = Cluster(folder)
    figures: dict = {
        "upload": args.upload,
        "members": args.members,
        "clients": args.clients,
        "seconds": args.seconds,
        "settlement_rows": args.rows,
        "cpus": os.cpu_count(),
        "load_avg_at_start": round(os.getloadavg()[0], 1),
    }
    checks: dict[str, bool] = {}
    try:
        # -- the pieces --
        cluster.start("s3", [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port_s3)], env)
        wait_http(f"http://127.0.0.1:{port_s3}/moto-api/", 60)
        import boto3

        boto3.client(
            "s3",
            endpoint_url=f"http://127.0.0.1:{port_s3}",
            aws_access_key_id="cluster",
            aws_secret_access_key="cluster-secret",
            region_name="us-east-1",
        ).create_bucket(Bucket=BUCKET)
        make_database(db, env)
        os.environ.update(env)
        os.environ["DJANGO_SETTINGS_MODULE"] = "huzhu.settings"
        from onestop_load import seed as onestop_seed

        t = time.perf_counter()
        data = onestop_seed(args.members)
        people = seed_people()
        figures["seed_s"] = round(time.perf_counter() - t, 1)
        from django.db import connections

        connections.close_all()
        upload_path = folder / "bureau-2026.csv"
        settlement_file(upload_path, data["ids"], args.rows)

        for i, port in enumerate(app_ports, 1):
            cluster.start(f"app{i}", granian(port, args.threads), env)
        for i in (1, 2):
            cluster.start(
                f"worker{i}",
                [
                    sys.executable,
                    "-m",
                    "huzhu",
                    "rqworker",
                    "default",
                    "--worker-ttl",
                    "60",
                    "--name",
                    f"worker{i}",
                ],
                env,
            )
        prefix = folder / "nginx"
        prefix.mkdir()
        conf = prefix / "nginx.conf"
        conf.write_text(
            render_nginx_conf(prefix=prefix, listen_port=port_nginx, app_ports=app_ports)
        )
        checked = nginx_check(nginx, conf, prefix)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx -t failed: {checked.stderr}")
        cluster.start("nginx", [nginx, "-p", str(prefix), "-c", str(conf)], env)
        for port in app_ports:
            wait_http(f"http://127.0.0.1:{port}/healthz")
        wait_http(f"http://127.0.0.1:{port_nginx}/healthz")
        wait_http(f"http://127.0.0.1:{port_nginx}/healthz?require=worker", 120)

        # -- a paper through app server 1, read through app server 2 --
        paper = paper_roundtrip(app_ports[0], [app_ports[1], port_nginx], people)
        figures["paper"] = paper
        checks["paper_uploaded_through_one_server_read_through_the_other"] = paper["ok"]

        # -- warm-up and statistics, as the one-stop benchmark --
        driver = TimedDriver(port_nginx, data["key_id"], data["secret"], data["ids"])
        driver.run(clients=4, seconds=6, max_requests=600, pairs=False)
        _admin_db(db, "ANALYZE")
        driver.committed.clear()
        driver.outcomes.clear()

        # -- the run with kills --
        events: dict = {}

        def upload_and_kill_a_worker():
            t0 = time.time()
            events["upload_started"] = t0
            try:
                events["batch"] = upload_settlement(port_nginx, people["staff_cookie"], upload_path)
            except Exception as exc:  # reported as a failed check
                events["upload_error"] = repr(exc)
                return
            events["uploaded_s"] = round(time.time() - t0, 2)
            # As soon as a worker runs the import: kill that worker, mid-import.
            victim, deadline = None, time.time() + args.seconds
            while victim is None and time.time() < deadline:
                victim = _worker_running(redis_url)
                time.sleep(0.05)
            state = _batch_state(db, events["batch"])
            if victim:
                events["worker_killed"] = victim
                events["batch_state_at_kill"] = state
                events["worker_killed_at"] = cluster.kill(victim)

        def faults():
            t0 = time.time()
            if args.upload == "during":
                upload_and_kill_a_worker()
            # A third of the way in: app server 1.
            time.sleep(max(0.0, t0 + args.seconds / 3 - time.time()))
            events["app_killed"] = "app1"
            events["app_killed_at"] = cluster.kill("app1")

        load = driver.run(
            clients=args.clients,
            seconds=args.seconds,
            max_requests=10**9,
            pairs=False,
            fault=faults,
        )
        figures["load"] = load
        if args.upload == "after":  # the same faults, one after the other (a comparison run)
            upload_and_kill_a_worker()
        figures["events"] = {k: v for k, v in events.items() if not k.endswith("_at")}
        # Time to recover (app server): from the kill to the last failed settle attempt.
        if "app_killed_at" in events:
            kill_at = events["app_killed_at"]
            failed = [t for t, status in driver.outcomes if t >= kill_at and status != 200]
            figures["app_kill_failed_attempts"] = len(failed)
            figures["app_kill_failures_by_status"] = {
                str(st): sum(1 for t, s_ in driver.outcomes if t >= kill_at and s_ == st)
                for st in {s_ for t, s_ in driver.outcomes if t >= kill_at and s_ != 200}
            }
            figures["app_recover_s"] = round(max(failed) - kill_at, 2) if failed else 0.0
        checks["load_had_no_final_errors"] = load.get("final", 1) == 0
        checks["upload_accepted"] = "batch" in events
        checks["a_worker_was_killed_mid_import"] = events.get("batch_state_at_kill") in (
            "pending",
            "running",
        )
        checks["app_server_killed"] = "app_killed_at" in events

        # -- the upload finishes on the other worker --
        if "batch" in events:
            deadline = time.time() + 900
            while time.time() < deadline and _batch_state(db, events["batch"]) not in (
                "done",
                "failed",
            ):
                time.sleep(1)
            done_at = time.time()
            # The task deletes the file and finishes just after the batch row says done.
            while time.time() < deadline and _job_worker(redis_url) is None:
                time.sleep(1)
            time.sleep(2)
            batch = batch_audit(db, events["batch"])
            figures["batch"] = batch
            if "worker_killed_at" in events:
                figures["import_recover_s"] = round(done_at - events["worker_killed_at"], 1)
            finished_by = _job_worker(redis_url)
            figures["import_finished_by"] = finished_by
            checks["upload_finished_on_the_other_worker"] = (
                batch["state"] == "done"
                and finished_by is not None
                and finished_by != events.get("worker_killed")
            )
            checks["upload_claims_once"] = (
                batch["claims"] == batch["claims_distinct_settlements"] > 0
                and batch["records"] == batch["records_distinct"]
                and not batch["upload_left"]
            )

        # -- no settle lost or doubled --
        time.sleep(3)
        figures["verify_retries"] = verify_retries(driver)
        audit = settle_audit(db, driver)
        figures["audit"] = audit
        checks["retried_requests_answer_their_first_answer"] = (
            figures["verify_retries"]["mismatched"] == 0
        )
        checks["no_settle_lost_or_doubled"] = (
            audit["ok_without_claim"] == 0
            and audit["ok_with_claim_twice"] == 0
            and audit["ok_without_one_creation_transition"] == 0
            and audit["other_with_claim"] == 0
            and all(
                audit[k] == 0
                for k in (
                    "member_years_past_cap_by_worth",
                    "ledgers_past_cap_or_deductible",
                    "ledger_differs_from_worth",
                    "settlements_committed_twice",
                    "requests_without_claim",
                    "onestop_claims_without_transition_or_notification",
                    "claims_without_request",
                )
            )
        )
        checks["no_notification_twice"] = audit["notifications_twice"] == 0
        # -- the reports' rollups (triggers on claims_claim, written by the import and every
        # settle at once) equal a fresh count of the claims --
        done = subprocess.run(
            [sys.executable, "-m", "huzhu", "report-rollup", "check"],
            env=env,
            cwd=str(REPO),
            capture_output=True,
            text=True,
        )
        rollups = json.loads(done.stdout.strip().splitlines()[-1])
        figures["rollup_check"] = {k: rollups[k] for k in ("ok", "triggers", "differences_count")}
        checks["rollups_equal_a_fresh_count"] = rollups["ok"]
        # -- the paper again, through what is left (nginx -> app server 2) --
        again = paper_roundtrip(app_ports[1], [port_nginx], people)
        checks["paper_readable_after_the_kills"] = again["ok"]
        figures["load_avg_at_end"] = round(os.getloadavg()[0], 1)
    except Exception as exc:
        figures["error"] = repr(exc)
        checks["ran_to_the_end"] = False
        for name in cluster.procs:
            print(f"--- {name} log ---\n{cluster.log_tail(name)}", file=sys.stderr)
    finally:
        cluster.stop_all()
        try:
            from django.db import connections

            connections.close_all()
        except Exception:
            pass
        if not args.keep:
            drop_database(db)
            shutil.rmtree(folder, ignore_errors=True)
        else:
            figures["folder"] = str(folder)
            figures["database"] = db
    figures["checks"] = checks
    figures["passed"] = bool(checks) and all(checks.values())
    print(json.dumps(figures, ensure_ascii=False, default=str))
    return 0 if figures["passed"] else 1


def _admin_db(db: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{db}", autocommit=True) as conn:
        conn.execute(sql)


def _batch_state(db: str, batch_id: int) -> str | None:
    import psycopg

    with psycopg.connect(f"postgres://postgres@127.0.0.1:5432/{db}") as conn:
        row = conn.execute(
            "SELECT state FROM settlements_settlementbatch WHERE id = %s", [batch_id]
        ).fetchone()
    return row[0] if row else None


def _rq_jobs(redis_url: str):
    import redis
    from rq import Queue
    from rq.job import Job

    conn = redis.Redis.from_url(redis_url)
    q = Queue("default", connection=conn)
    ids = set(q.started_job_registry.get_job_ids(cleanup=False))
    ids |= set(q.finished_job_registry.get_job_ids())
    for job in Job.fetch_many(list(ids), connection=conn):
        if job is not None and job.func_name.endswith("settlement_import_task"):
            yield job


def _worker_running(redis_url: str) -> str | None:
    """The worker running the settlement import now, if any."""
    for job in _rq_jobs(redis_url):
        if job.get_status() == "started" and job.worker_name:
            return job.worker_name
    return None


def _job_worker(redis_url: str) -> str | None:
    """The worker that finished the settlement import."""
    for job in _rq_jobs(redis_url):
        if job.get_status() == "finished":
            results = job.results()
            return results[0].worker_name if results else job.worker_name
    return None


if __name__ == "__main__":
    sys.exit(main())
