"""Request ids: one id per HTTP request, on every log line it causes, in the `X-Request-ID`
answer header, and carried into the background tasks the request enqueues.

- An incoming `X-Request-ID` (from the reverse proxy: nginx `$request_id`) is kept when it is a
  plain token (letters, digits, `-_.`, at most 64); otherwise a new one is made.
- `RequestIdLogFilter` puts `request_id` on every log record (`-` outside a request), so the
  JSON log formatter (`HUZHU_LOG_FORMAT=json`) and the plain one can print it.
- Tasks: when a task is enqueued inside a request, its id is stored with the request id
  (`TaskTrace`); the worker sets it back while the task runs (task_started / task_finished
  signals of django-tasks, sent by both the database and the Redis backend).
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

__all__ = [
    "RequestIdLogFilter",
    "RequestIdMiddleware",
    "connect_task_signals",
    "current_request_id",
    "request_id_scope",
]

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "huzhu_request_id", default=None
)
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
HEADER = "X-Request-ID"

logger = logging.getLogger(__name__)


def current_request_id() -> str | None:
    return _request_id.get()


class request_id_scope:  # noqa: N801 - used like a function: `with request_id_scope(rid):`
    def __init__(self, request_id: str | None) -> None:
        self.request_id = request_id
        self._token = None

    def __enter__(self):
        self._token = _request_id.set(self.request_id)
        return self.request_id

    def __exit__(self, *exc) -> None:
        _request_id.reset(self._token)


def _incoming_id(value: str | None) -> str:
    if value and _TOKEN.match(value):
        return value
    return uuid.uuid4().hex


class RequestIdMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        rid = _incoming_id(request.headers.get(HEADER))
        request.request_id = rid
        with request_id_scope(rid):
            response = self.get_response(request)
        response[HEADER] = rid
        return response


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        return True


def _on_enqueued(sender, task_result, **kwargs) -> None:
    rid = _request_id.get()
    if not rid:
        return
    from .models import TaskTrace

    try:
        TaskTrace.objects.update_or_create(
            task_id=str(task_result.id)[:64], defaults={"request_id": rid}
        )
    except Exception:  # a trace is never worth failing an enqueue for
        logger.warning("could not store the request id of task %s", task_result.id)


_running: dict[str, contextvars.Token] = {}


def _on_started(sender, task_result, **kwargs) -> None:
    from .models import TaskTrace

    rid = _request_id.get()
    if rid is None:  # in a worker: take the id the request left
        try:
            rid = (
                TaskTrace.objects.filter(task_id=str(task_result.id)[:64])
                .values_list("request_id", flat=True)
                .first()
            )
        except Exception:
            rid = None
        if rid:
            _running[str(task_result.id)] = _request_id.set(rid)


def _on_finished(sender, task_result, **kwargs) -> None:
    token = _running.pop(str(task_result.id), None)
    if token is not None:
        _request_id.reset(token)


def connect_task_signals() -> None:
    from django_tasks.signals import task_enqueued, task_finished, task_started

    task_enqueued.connect(_on_enqueued, dispatch_uid="huzhu.ops.tracing.enqueued")
    task_started.connect(_on_started, dispatch_uid="huzhu.ops.tracing.started")
    task_finished.connect(_on_finished, dispatch_uid="huzhu.ops.tracing.finished")
