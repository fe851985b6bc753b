"""Background work of the settlement import (Django's Tasks API, django-tasks backport).

The default backend is django-tasks-db (worker: `huzhu db_worker`); `HUZHU_TASKS=rq` moves
the same tasks to Redis (django-tasks-rq, worker: `huzhu rqworker default`).
"""

from __future__ import annotations

from datetime import datetime

from django_tasks import task

from huzhu.claims.models import Notification
from huzhu.claims.notifications import deliver, redelivery_schedule

__all__ = [
    "deliver_import_notifications",
    "settlement_import_task",
    "settlements_readjudicate_task",
]


@task()
def settlement_import_task(batch_id: int) -> dict:
    """Run an uploaded file's import (the batch row was created by the upload page)."""
    from .services import settlement_batch_run

    return settlement_batch_run(batch_id=batch_id)


@task()
def deliver_import_notifications(first_id: int, last_id: int, created_at: str) -> int:
    """Deliver the notifications an import stored (ids first..last, created at that instant)
    through the configured channels. Returns how many were sent; when a channel failed, a
    re-delivery is scheduled after the grace period."""
    when = datetime.fromisoformat(created_at)
    ids = list(
        Notification.objects.filter(
            id__range=(first_id, last_id), created_at=when, sent_at__isnull=True
        )
        .order_by("id")
        .values_list("id", flat=True)
    )
    sent, failed = 0, False
    for pk in ids:
        notification = deliver(pk)
        sent += notification.sent_at is not None
        failed |= bool(notification.error)
    if failed:
        redelivery_schedule()
    return sent


@task()
def settlements_readjudicate_task(years: list[int] | None = None) -> dict:
    """Adjudicate the stored refused records again (after an enrollment import); returns the
    run's summary."""
    from .readjudicate import settlements_readjudicate

    return settlements_readjudicate(years=years).summary()
