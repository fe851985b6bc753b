"""运行状态 (admins): periodic jobs with their last run and result, task workers' heartbeats,
the health checks of /healthz; an admin may run a job now (audited)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from huzhu.audit.services import audit_record
from huzhu.ops.health import WORKER_STALE_SECONDS, health_report
from huzhu.ops.jobs import JOBS
from huzhu.ops.models import ScheduledJob, WorkerHeartbeat
from huzhu.ops.scheduler import scheduled_job_task
from huzhu.web.permissions import staff_required


@staff_required("ops")
def ops_status(request):
    rows = {row.name: row for row in ScheduledJob.objects.all()}
    jobs = [{"job": job, "row": rows.get(name)} for name, job in JOBS.items()]
    healthy, health = health_report()
    now = timezone.now()
    workers = [
        {"beat": beat, "alive": (now - beat.seen_at).total_seconds() <= WORKER_STALE_SECONDS}
        for beat in WorkerHeartbeat.objects.order_by("-seen_at")[:20]
    ]
    context = {"jobs": jobs, "healthy": healthy, "health": health, "workers": workers}
    return render(request, "web/ops.html", context)


@require_POST
@staff_required("ops")
def ops_job_run(request, name):
    if name not in JOBS:
        raise Http404
    scheduled_job_task.enqueue(name)
    audit_record(
        actor=request.user,
        action="ops.job_run",
        object_type="ops.scheduledjob",
        object_id=name,
        after={"job": name},
    )
    messages.success(request, f"已提交运行：{JOBS[name].title}")
    return redirect("web:ops")
