"""A worker killed mid-import (SIGKILL, as a lost machine) does not lose its task: RQ gives the
job back to the queue once its heartbeat has run out (the job has retries, huzhu/ops/rq.py),
another worker imports the batch, once.

Real `huzhu rqworker` processes on the CI Redis and the test's PostgreSQL database."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings as django_settings
from django.db import connection

from huzhu.claims.models import Claim, Notification
from huzhu.organizations.models import Role
from huzhu.settlements.models import SettlementBatch
from tests.factories import UserFactory
from tests.settlements.conftest import HEADER, row

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]
REPO = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/12"
IMPORT_LOCK = "SELECT pg_advisory_lock(hashtext('huzhu.settlement_import'))"


@pytest.fixture
def rq_tasks(settings):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379 (CI starts one)")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 600}}
    settings.RQ = {"JOB_CLASS": "django_tasks_rq.Job", "QUEUE_CLASS": "huzhu.ops.rq.RetryingQueue"}
    redis.Redis.from_url(REDIS_URL).flushdb()
    yield
    redis.Redis.from_url(REDIS_URL).flushdb()


def _db_url() -> str:
    d = connection.settings_dict
    auth = d["USER"] + (f":{d['PASSWORD']}" if d["PASSWORD"] else "")
    return f"postgres://{auth}@{d['HOST'] or '127.0.0.1'}:{d['PORT'] or 5432}/{d['NAME']}"


def _worker(tmp_path, name: str, *extra: str) -> subprocess.Popen:
    """`huzhu rqworker default` as deployed (its own session: a kill takes its work-horse too)."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "huzhu.settings",
        "DATABASE_URL": _db_url(),
        "HUZHU_TASKS": "rq",
        "REDIS_URL": REDIS_URL,
        "SECRET_KEY": django_settings.SECRET_KEY,
        "HUZHU_FIELD_KEY": django_settings.FIELD_ENCRYPTION_KEY,
        "HUZHU_DOCUMENT_DIR": str(django_settings.HUZHU_DOCUMENT_DIR),
        "HUZHU_VAR_DIR": str(tmp_path / "var"),
        "HUZHU_SCHEDULER": "0",  # this test calls the re-queue itself
        "HUZHU_NOTIFY_CHANNELS": "console",
    }
    env.pop("DEBUG", None)
    log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [sys.executable, "-m", "huzhu", "rqworker", "default", "--name", name, *extra],
        env=env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(x) for x in out.split()]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def _wait(predicate, seconds: float, what: str, worker=None, tmp_path=None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    log = ""
    if worker is not None and tmp_path is not None:
        log = (tmp_path / f"{worker}.log").read_text(errors="replace")[-3000:]
    raise AssertionError(f"timed out waiting for {what}\n{log}")


def test_a_killed_workers_import_completes_on_another_worker_once(
    rq_tasks, plans, enroll, union, tmp_path
):
    import django_rq
    from rq.registry import StartedJobRegistry

    from huzhu.ops.rq import abandoned_tasks_requeue
    from huzhu.settlements.services import settlement_batch_upload

    reviewer = UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=union)
    members = [enroll(name=f"职工{i}") for i in range(4)]
    lines = [row(f"KW{i}", m, base="12000.00") for i, m in enumerate(members)]
    data = ("\n".join([HEADER, *lines]) + "\n").encode()

    # Hold the lock every import takes inside its transaction: the worker's import starts,
    # marks the batch running and waits there, mid-task, until the worker is killed.
    blocker = psycopg.connect(_db_url(), autocommit=True)
    blocker.execute(IMPORT_LOCK)
    first = _worker(tmp_path, "w1")
    try:
        batch = settlement_batch_upload(data=data, file_name="bureau.csv", acting_user=reviewer)
        queue = django_rq.get_queue("default")

        def waiting_on_the_lock():
            with psycopg.connect(_db_url(), autocommit=True) as c:
                return c.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND query LIKE '%pg_advisory_xact_lock%'"
                ).fetchone()[0]

        _wait(waiting_on_the_lock, 90, "the first worker's import to start", "w1", tmp_path)
        assert SettlementBatch.objects.get(pk=batch.pk).state == "running"
        started = StartedJobRegistry(queue=queue)
        job_id = started.get_job_ids()[0]

        # The worker and its work-horse (RQ puts the horse in a process group of its own),
        # mid-import, as when the machine is lost.
        horses = _children(first.pid)
        assert horses, "the worker forked no work-horse"
        for pid in [first.pid, *horses]:
            os.kill(pid, signal.SIGKILL)
        first.wait(timeout=30)
        _wait(lambda: not any(_alive(p) for p in horses), 30, "the work-horse to die")
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
        blocker.close()

    # The killed run wrote nothing: its transaction died with its connection.
    assert Claim.objects.filter(settlement_id__startswith="KW").count() == 0
    assert SettlementBatch.objects.get(pk=batch.pk).state == "running"
    # While its heartbeat is still valid the job is left alone (it could be a slow live run)…
    assert abandoned_tasks_requeue() == {"requeued": 0, "failed": 0}
    assert job_id in started.get_job_ids(cleanup=False)
    # …once it has run out (90 s after the last heartbeat: asked as of 100 s from now, instead
    # of waiting), RQ puts the job back on the queue, because it has retries left.
    assert abandoned_tasks_requeue(timestamp=time.time() + 100) == {"requeued": 1, "failed": 0}
    assert job_id in queue.get_job_ids()

    second = _worker(tmp_path, "w2", "--burst")
    try:
        second.wait(timeout=180)
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)
    log = (tmp_path / "w2.log").read_text(errors="replace")
    batch.refresh_from_db()
    assert batch.state == "done", log[-3000:]
    assert batch.upload_path == ""
    claims = Claim.objects.filter(settlement_id__startswith="KW")
    assert claims.count() == 4
    assert sorted(claims.values_list("settlement_id", flat=True)) == [f"KW{i}" for i in range(4)]
    # One notification per claim, each sent once (the import's delivery task ran on w2).
    notes = Notification.objects.filter(claim__in=claims)
    assert notes.count() == 4
    assert notes.filter(sent_at__isnull=True).count() == 0
    job = queue.fetch_job(job_id)
    assert job.get_status() == "finished"
    assert [r.worker_name for r in job.results()] == ["w2"]  # the killed run left no result
