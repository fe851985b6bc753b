"""What `/healthz` checks. Each check returns a small dict with `ok` and figures; none carries
personal data. The app's own dependencies (database, Redis when the task backend uses it, file
storage) decide the status code; the worker's heartbeat and queue depth are reported, and make
the answer 503 only when asked for (`/healthz?require=worker`, for a monitor of the workers),
so a dead worker does not take the app servers out of the load balancer."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone

__all__ = ["WORKER_STALE_SECONDS", "health_report", "queue_depth"]

WORKER_STALE_SECONDS = int(os.environ.get("HUZHU_WORKER_STALE_SECONDS", "90"))


def _timed(fn):
    start = time.perf_counter()
    try:
        result = fn() or {}
        result.setdefault("ok", True)
    except Exception as exc:  # the check failed: say how, without a traceback
        result = {"ok": False, "error": type(exc).__name__}
    result["ms"] = round((time.perf_counter() - start) * 1000, 1)
    return result


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {"vendor": connection.vendor}


def uses_redis() -> bool:
    return settings.TASKS["default"]["BACKEND"].startswith("django_tasks_rq")


def _redis() -> dict:
    import django_rq

    django_rq.get_connection("default").ping()
    return {}


def _storage() -> dict:
    from huzhu.core.storage import storage_check

    return storage_check()


def queue_depth() -> int:
    """Tasks waiting to run (not started), on the configured backend."""
    if uses_redis():
        import django_rq

        return sum(django_rq.get_queue(name).count for name in settings.RQ_QUEUES)
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().count()


def _worker(now) -> dict:
    from .models import WorkerHeartbeat

    latest = WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True)[:1]
    alive = WorkerHeartbeat.objects.filter(
        seen_at__gte=now - timedelta(seconds=WORKER_STALE_SECONDS)
    ).count()
    age = (now - latest[0]).total_seconds() if latest else None
    return {
        "ok": alive > 0,
        "alive": alive,
        "last_heartbeat_age_s": round(age, 1) if age is not None else None,
    }


def health_report(*, require_worker: bool = False) -> tuple[bool, dict]:
    now = timezone.now()
    checks = {"database": _timed(_database)}
    if uses_redis():
        checks["redis"] = _timed(_redis)
    checks["storage"] = _timed(_storage)
    if checks["database"]["ok"]:
        checks["worker"] = _timed(lambda: _worker(now))
        checks["queue"] = _timed(lambda: {"depth": queue_depth()})
    required = ["database", "storage"] + (["redis"] if uses_redis() else [])
    if require_worker:
        required += ["worker", "queue"]
    healthy = all(checks.get(name, {"ok": False})["ok"] for name in required)
    body = {"status": "ok" if healthy else "fail", "time": now.isoformat(), "checks": checks}
    return healthy, body
