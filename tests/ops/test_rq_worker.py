"""The Redis task backend: a worker started the documented way runs Huzhu's tasks."""

import pytest
from django.conf import settings as django_settings

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rq_backend(settings):
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/11"
    try:
        redis.Redis.from_url(url).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis on 127.0.0.1:6379 (CI starts one)")
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
    settings.RQ_QUEUES = {"default": {"URL": url}}
    settings.RQ = {"JOB_CLASS": "django_tasks_rq.Job"}
    redis.Redis.from_url(url).flushdb()
    yield
    redis.Redis.from_url(url).flushdb()


def test_settings_give_rq_workers_the_task_job_class(monkeypatch):
    """`huzhu rqworker default` (no --job-class) must run django-tasks' Task objects."""
    import importlib

    monkeypatch.setenv("HUZHU_TASKS", "rq")
    import huzhu.settings as real

    try:
        reloaded = importlib.reload(real)
        assert reloaded.RQ == {
            "JOB_CLASS": "django_tasks_rq.Job",
            "QUEUE_CLASS": "huzhu.ops.rq.RetryingQueue",
        }
        assert reloaded.RQ_QUEUES["default"]["DEFAULT_TIMEOUT"] >= 3600
        assert "django_rq" in reloaded.INSTALLED_APPS
    finally:
        monkeypatch.delenv("HUZHU_TASKS")
        importlib.reload(real)
    assert django_settings.TASKS  # the running settings were not touched


def test_a_scheduled_job_runs_on_an_rq_worker(rq_backend):
    import django_rq
    from rq import SimpleWorker

    from huzhu.ops.models import ScheduledJob
    from huzhu.ops.scheduler import scheduled_job_task

    scheduled_job_task.enqueue("documents-prune")
    worker = django_rq.get_worker("default", worker_class=SimpleWorker)
    assert worker.work(burst=True)
    row = ScheduledJob.objects.get(name="documents-prune")
    assert row.runs == 1 and row.last_ok is True
