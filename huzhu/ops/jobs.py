"""The periodic jobs: what runs, how often. Each job is a plain function returning a small
JSON-able summary; `huzhu/ops/scheduler.py` decides when and makes sure each period's run
happens once, whichever worker claims it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["JOBS", "Job"]


@dataclass(frozen=True)
class Job:
    name: str
    period_seconds: int
    run: Callable[[], dict]
    # Daily jobs run at this local hour (quiet time) instead of `period_seconds` after start.
    at_hour: int | None = None
    title: str = ""


def _redeliver() -> dict:
    from huzhu.claims.notifications import notifications_redeliver

    return notifications_redeliver().summary()


def _tasks_requeue_abandoned() -> dict:
    from .rq import abandoned_tasks_requeue

    return abandoned_tasks_requeue()


def _documents_prune() -> dict:
    from huzhu.members.documents import document_prune_pending

    return {"deleted": document_prune_pending()}


def _uploads_prune() -> dict:
    from huzhu.core.uploads import uploads_prune

    return {"deleted": uploads_prune()}


def _sessions_clear() -> dict:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    expired = Session.objects.filter(expire_date__lt=timezone.now()).count()
    import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
    return {"expired_sessions": expired}


def _sms_codes_prune() -> dict:
    from django.utils import timezone

    from huzhu.members.models import SmsCode
    from huzhu.members.throttle import throttle_prune

    now = timezone.now()
    # Lockouts live in the login-limit counters (huzhu.members.throttle), not on the codes.
    deleted, _ = SmsCode.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return {"deleted": deleted, "throttle_events": throttle_prune(now=now)}


def _task_results_prune() -> dict:
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    cutoff = timezone.now() - timedelta(days=14)
    deleted, _ = DBTaskResult.objects.filter(finished_at__lt=cutoff).delete()
    return {"deleted": deleted}


def _traces_prune() -> dict:
    from django.utils import timezone

    from .models import TaskTrace, WorkerHeartbeat

    now = timezone.now()
    traces, _ = TaskTrace.objects.filter(created_at__lt=now - timedelta(days=2)).delete()
    beats, _ = WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1)).delete()
    return {"traces": traces, "heartbeats": beats}


def _settlements_readjudicate() -> dict:
    """Stored bureau records refused for want of an enrollment or a plan, adjudicated again
    (also run after each enrollment import and plan load; this catches any missed run)."""
    from huzhu.settlements.readjudicate import settlements_readjudicate

    return settlements_readjudicate().summary()


def _report_rollup_check() -> dict:
    """The reports' rollups compared with a fresh count of the claims (`huzhu report-rollup
    check`). Rollups that differ (a write that bypassed the triggers, a restore of the claims
    table alone) are rebuilt at once, and the run still fails, so /staff/ops/ shows in red that
    the reports were wrong until now and what differed."""
    from huzhu.reports.rollup import rollup_check, rollup_rebuild

    found = rollup_check(limit=3)
    if found["ok"]:
        return found
    rebuilt = rollup_rebuild()
    after = rollup_check(limit=3)
    raise RuntimeError(
        f"rollups differed from the claims (triggers {found['triggers']}, "
        f"{found['differences_count']} differences, first {found['differences'][:1]}); "
        f"rebuilt {rebuilt}; check after rebuild ok={after['ok']}"
    )


JOBS: dict[str, Job] = {
    job.name: job
    for job in (
        Job("notifications-redeliver", 300, _redeliver, title="补发未送达的通知"),
        Job("tasks-requeue-abandoned", 60, _tasks_requeue_abandoned, title="重新排队已停止的任务"),
        Job("documents-prune", 3600, _documents_prune, title="清理未提交的申请材料"),
        Job("uploads-prune", 3600, _uploads_prune, title="清理过期的导入上传文件"),
        Job("sessions-clear", 86400, _sessions_clear, at_hour=3, title="清理过期会话"),
        Job("sms-codes-prune", 86400, _sms_codes_prune, at_hour=3, title="清理过期验证码"),
        Job("task-results-prune", 86400, _task_results_prune, at_hour=4, title="清理旧任务记录"),
        Job("traces-prune", 86400, _traces_prune, at_hour=4, title="清理请求追踪与心跳"),
        Job(
            "settlements-readjudicate",
            86400,
            _settlements_readjudicate,
            at_hour=2,
            title="重新判定迟到数据的结算记录",
        ),
        Job(
            "report-rollup-check",
            86400,
            _report_rollup_check,
            at_hour=5,
            title="核对报表汇总与申请数据（不符则重建）",
        ),
    )
}
