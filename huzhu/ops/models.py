"""Operations state shared by every process: periodic jobs, worker heartbeats, task traces."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class ScheduledJob(models.Model):
    """One periodic job. `next_run_at` is the claim token: a worker that moves it forward with a
    conditional UPDATE (compare-and-set) owns that period's run, so the job runs once per period
    however many workers tick."""

    name = models.CharField(_("任务"), max_length=64, primary_key=True)
    period_seconds = models.PositiveIntegerField(_("周期（秒）"))
    next_run_at = models.DateTimeField(_("下次运行"))
    last_started_at = models.DateTimeField(_("上次开始"), null=True, blank=True)
    last_finished_at = models.DateTimeField(_("上次结束"), null=True, blank=True)
    last_ok = models.BooleanField(_("上次成功"), null=True)
    last_result = models.TextField(_("上次结果"), blank=True)
    runs = models.PositiveIntegerField(_("运行次数"), default=0)
    failures = models.PositiveIntegerField(_("失败次数"), default=0)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """A task worker process's latest sign of life (written by its scheduler thread)."""

    worker_id = models.CharField(max_length=128, primary_key=True)
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()
    backend = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)


class TaskTrace(models.Model):
    """The request id a task was enqueued under, so its log lines carry the same id."""

    task_id = models.CharField(max_length=64, primary_key=True)
    request_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
