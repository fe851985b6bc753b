"""Periodic jobs run by the task workers, once per period however many workers run.

Every worker process (`huzhu db_worker`, `huzhu rqworker`) starts one daemon thread
(`worker_loop_start`, from `OpsConfig.ready`). Every `HUZHU_SCHEDULER_TICK` seconds (default 15)
it writes the worker's heartbeat and calls `scheduler_tick`: for each job whose `next_run_at`
has come, it moves `next_run_at` to the next period with a conditional UPDATE (only if it still
holds the value it read). One worker wins that compare-and-set; it enqueues
`scheduled_job_task`, which any worker of the backend (database or Redis) then runs and whose
result is written on the job's row (`/staff/ops/` shows it). The database is the only shared
state, so this needs no Redis and no extra process.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import datetime, timedelta

from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from .jobs import JOBS, Job
from .models import ScheduledJob, WorkerHeartbeat

__all__ = [
    "heartbeat_write",
    "next_run_after",
    "scheduled_job_run",
    "scheduled_job_task",
    "scheduler_tick",
    "worker_loop_start",
]

log = logging.getLogger(__name__)
TICK_SECONDS = float(os.environ.get("HUZHU_SCHEDULER_TICK", "15"))
_started_at = timezone.now()


def next_run_after(job: Job, now: datetime) -> datetime:
    """The first run time after `now`: `now + period`, or for a daily job the next `at_hour`
    o'clock in local time."""
    if job.at_hour is None:
        return now + timedelta(seconds=job.period_seconds)
    local = timezone.localtime(now)
    candidate = local.replace(hour=job.at_hour, minute=0, second=0, microsecond=0)
    if candidate <= local:
        candidate += timedelta(days=1)
    return candidate


def _first_run(job: Job, now: datetime) -> datetime:
    return now if job.at_hour is None else next_run_after(job, now)


def _rows(now: datetime) -> dict[str, ScheduledJob]:
    rows = {row.name: row for row in ScheduledJob.objects.filter(name__in=JOBS)}
    for name, job in JOBS.items():
        if name not in rows:
            rows[name], _ = ScheduledJob.objects.get_or_create(
                name=name,
                defaults={
                    "period_seconds": job.period_seconds,
                    "next_run_at": _first_run(job, now),
                },
            )
        elif rows[name].period_seconds != job.period_seconds:
            ScheduledJob.objects.filter(name=name).update(period_seconds=job.period_seconds)
    return rows


def scheduler_tick(*, now: datetime | None = None) -> list[str]:
    """Claim and enqueue the jobs that are due; returns the names this caller claimed."""
    now = now or timezone.now()
    claimed = []
    for name, row in _rows(now).items():
        if row.next_run_at > now:
            continue
        won = ScheduledJob.objects.filter(name=name, next_run_at=row.next_run_at).update(
            next_run_at=next_run_after(JOBS[name], now), last_started_at=now
        )
        if won:
            claimed.append(name)
            transaction.on_commit(lambda name=name: scheduled_job_task.enqueue(name))
    return claimed


def scheduled_job_run(name: str) -> dict:
    """Run one job now and record its result on its row (failures too)."""
    job = JOBS[name]
    ScheduledJob.objects.get_or_create(
        name=name,
        defaults={
            "period_seconds": job.period_seconds,
            "next_run_at": next_run_after(job, timezone.now()),
        },
    )
    try:
        result = job.run()
        ok = True
    except Exception as exc:  # recorded, and raised again so the task shows as failed
        log.exception("scheduled job %s failed", name)
        result, ok = {"error": f"{type(exc).__name__}: {exc}"[:500]}, False
    ScheduledJob.objects.filter(name=name).update(
        last_finished_at=timezone.now(),
        last_ok=ok,
        last_result=json.dumps(result, ensure_ascii=False, default=str)[:2000],
        runs=F("runs") + 1,
        failures=F("failures") + (0 if ok else 1),
    )
    if not ok:
        raise RuntimeError(result["error"])
    return result


@task()
def scheduled_job_task(name: str) -> dict:
    return scheduled_job_run(name)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def heartbeat_write(*, now: datetime | None = None) -> None:
    from django.conf import settings

    now = now or timezone.now()
    backend = settings.TASKS["default"]["BACKEND"].rsplit(".", 1)[-1]
    WorkerHeartbeat.objects.update_or_create(
        worker_id=_worker_id(),
        defaults={
            "hostname": socket.gethostname()[:255],
            "pid": os.getpid(),
            "backend": backend,
            "started_at": _started_at,
            "seen_at": now,
        },
    )


def _loop() -> None:
    from django.apps import apps

    while not apps.ready:  # started from an AppConfig.ready(): let every app finish loading
        time.sleep(0.2)
    while True:
        try:
            close_old_connections()
            heartbeat_write()
            scheduler_tick()
        except Exception:  # the database may be away for a moment; try again next tick
            log.exception("scheduler tick failed")
        finally:
            close_old_connections()
        time.sleep(TICK_SECONDS)


_thread: threading.Thread | None = None


def worker_loop_start() -> None:
    global _thread
    if _thread is not None or os.environ.get("HUZHU_SCHEDULER", "1") == "0":
        return
    _thread = threading.Thread(target=_loop, name="huzhu-scheduler", daemon=True)
    _thread.start()
