"""Tasks on Redis (HUZHU_TASKS=rq) survive a worker that dies mid-task.

RQ keeps a running job in its StartedJobRegistry with a heartbeat the worker renews (every 30 s,
valid 90 s). When the worker dies (SIGKILL, machine lost), the heartbeat runs out; RQ's
registry clean-up then puts the job back on its queue **if it has retries left**, otherwise
moves it to the failed jobs. django-tasks-rq enqueues without retries, and RQ's own clean-up
runs every 10 minutes per worker. So:

- `RetryingQueue` (settings `RQ["QUEUE_CLASS"]`) gives every job `Retry(max=TASK_RETRIES)`
  unless it names its own, except the periodic job runner (the next period runs it again).
  The tasks so retried are safe to run twice: the settlement import runs a batch once (a lock
  per batch, then done batches are skipped; the import is one transaction, so a killed run
  left nothing); notifications are sent once each (a row lock, `sent_at` re-read).
- `abandoned_tasks_requeue` runs RQ's clean-up of every queue's StartedJobRegistry; the
  periodic job `tasks-requeue-abandoned` calls it every minute, so a dead worker's job runs
  again on another worker within about 90 + 60 s.

With the database backend (`huzhu db_worker`) a killed worker's task stays `RUNNING`; it is
not re-run automatically (see docs/operations.md).
"""

from __future__ import annotations

import time

from django_rq.queues import DjangoRQ
from rq.job import Retry

__all__ = ["NO_RETRY", "TASK_RETRIES", "RetryingQueue", "abandoned_tasks_requeue"]

TASK_RETRIES = 3
# Tasks not worth a retry: the periodic job runner (the next period runs the job again).
NO_RETRY = frozenset({"huzhu.ops.scheduler.scheduled_job_task"})


class RetryingQueue(DjangoRQ):
    """django-rq's queue, giving each job retries so RQ re-queues it if its worker dies."""

    def create_job(self, func, *args, retry=None, **kwargs):
        if retry is None and (func if isinstance(func, str) else "") not in NO_RETRY:
            retry = Retry(max=TASK_RETRIES)
        return super().create_job(func, *args, retry=retry, **kwargs)


def abandoned_tasks_requeue(*, timestamp: float | None = None) -> dict:
    """RQ's clean-up of the started-job registries: jobs whose worker stopped renewing their
    heartbeat before `timestamp` (default now) go back on their queue if they have retries
    left, else to the failed registry. Returns how many of each; {} without Redis tasks."""
    from django.conf import settings

    if "django_tasks_rq" not in settings.TASKS["default"]["BACKEND"]:
        return {}
    import django_rq
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    at = timestamp if timestamp is not None else time.time()
    requeued = failed = 0
    for name in settings.RQ_QUEUES:
        queue = django_rq.get_queue(name)
        started = StartedJobRegistry(queue=queue)
        expired = started.get_expired_job_ids(at)
        if not expired:
            continue
        failed_before = FailedJobRegistry(queue=queue).count
        started.cleanup(timestamp=at)
        moved = FailedJobRegistry(queue=queue).count - failed_before
        failed += moved
        requeued += max(len(expired) - moved, 0)
    return {"requeued": requeued, "failed": failed}
