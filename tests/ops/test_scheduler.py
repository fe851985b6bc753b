"""Periodic jobs run by the workers: once per period however many workers tick."""

from datetime import timedelta

import pytest
from django.utils import timezone

from huzhu.ops import jobs as jobs_module
from huzhu.ops.jobs import JOBS, Job
from huzhu.ops.models import ScheduledJob
from huzhu.ops.scheduler import next_run_after, scheduled_job_run, scheduler_tick
from tests.concurrency import run_together

pytestmark = pytest.mark.django_db


@pytest.fixture
def counted_job(monkeypatch):
    """Replace the registry with one job that counts its runs."""
    runs = []

    def run():
        runs.append(1)
        return {"run": len(runs)}

    job = Job("count", 300, run, title="计数")
    monkeypatch.setattr(jobs_module, "JOBS", {"count": job})
    monkeypatch.setattr("huzhu.ops.scheduler.JOBS", {"count": job})
    return runs


def test_a_due_job_is_claimed_by_one_tick_only(counted_job, django_capture_on_commit_callbacks):
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        assert scheduler_tick(now=now) == ["count"]  # first sight: due at once
        assert scheduler_tick(now=now) == []  # the same period: nobody claims it again
        assert scheduler_tick(now=now + timedelta(seconds=299)) == []
        assert scheduler_tick(now=now + timedelta(seconds=301)) == ["count"]
    assert len(counted_job) == 2  # the immediate test backend ran each claimed period once
    row = ScheduledJob.objects.get(name="count")
    assert row.runs == 2 and row.failures == 0 and row.last_ok is True
    assert row.last_result == '{"run": 2}'
    assert row.next_run_at == now + timedelta(seconds=601)


def test_a_failing_job_is_recorded_and_runs_again_next_period(monkeypatch):
    def broken():
        raise ValueError("no bank file")

    job = Job("broken", 60, broken)
    monkeypatch.setattr("huzhu.ops.scheduler.JOBS", {"broken": job})
    ScheduledJob.objects.create(name="broken", period_seconds=60, next_run_at=timezone.now())
    with pytest.raises(RuntimeError):
        scheduled_job_run("broken")
    row = ScheduledJob.objects.get(name="broken")
    assert row.last_ok is False and row.failures == 1
    assert "ValueError: no bank file" in row.last_result


def test_daily_jobs_run_at_their_local_hour():
    job = Job("nightly", 86400, dict, at_hour=3)
    local = timezone.localtime(timezone.now()).replace(hour=22, minute=5)
    nxt = timezone.localtime(next_run_after(job, local))
    assert (nxt.hour, nxt.minute) == (3, 0) and nxt.date() == (local + timedelta(days=1)).date()
    early = local.replace(hour=1)
    assert timezone.localtime(next_run_after(job, early)).date() == early.date()


def test_every_registered_job_runs_on_an_empty_database(settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "docs"
    for name in JOBS:
        result = scheduled_job_run(name)
        assert isinstance(result, dict), name
    assert ScheduledJob.objects.filter(last_ok=True).count() == len(JOBS)


def test_expired_sms_codes_and_old_login_counters_are_pruned():
    from huzhu.members.models import SmsCode, ThrottleEvent
    from huzhu.members.sms import WRONG_PER_PAIR
    from huzhu.members.throttle import throttle_retry_after, throttle_take

    now = timezone.now()
    old = dict(
        code_hash="x", created_at=now - timedelta(days=3), expires_at=now - timedelta(days=2)
    )
    SmsCode.objects.create(phone="13800000001", **old)
    SmsCode.objects.create(
        phone="13800000003", code_hash="y", created_at=now, expires_at=now + timedelta(minutes=5)
    )
    # a lockout in force (5 wrong codes just now) and counters from three days ago
    for _ in range(5):
        throttle_take([(WRONG_PER_PAIR, "13800000002|203.0.113.9")], now=now)
    ThrottleEvent.objects.create(scope="bind.fail.phone", key="k", at=now - timedelta(days=3))
    assert JOBS["sms-codes-prune"].run() == {"deleted": 1, "throttle_events": 1}
    assert [c.phone for c in SmsCode.objects.all()] == ["13800000003"]
    assert throttle_retry_after(WRONG_PER_PAIR, "13800000002|203.0.113.9", now=now) > 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_ticking_together_claim_each_period_once(counted_job):
    now = timezone.now()
    results = run_together([lambda: scheduler_tick(now=now) for _ in range(4)])
    assert sorted(sum((r for r in results), [])) == ["count"]
    assert ScheduledJob.objects.get(name="count").runs == 1


def test_readjudication_of_late_data_runs_nightly_in_the_worker(
    django_capture_on_commit_callbacks,
):
    """Issue 20: re-adjudication of late data is one of the worker's periodic jobs, run
    once a night, and its result is the command's summary."""
    job = JOBS["settlements-readjudicate"]
    assert (job.period_seconds, job.at_hour) == (86400, 2)
    now = timezone.now()
    assert next_run_after(job, now) - now <= timedelta(days=1)
    result = scheduled_job_run("settlements-readjudicate")
    assert result["command"] == "settlements-readjudicate"
    assert (result["checked"], result["created"]) == (0, 0)
    row = ScheduledJob.objects.get(name="settlements-readjudicate")
    assert row.last_ok and row.runs == 1 and '"created": 0' in row.last_result


def test_the_nightly_rollup_check_repairs_rollups_that_drifted_and_says_so():
    """Reports read rollups kept by triggers; a write that bypassed them (here: a rollup row
    damaged by hand) is found by the nightly check, rebuilt, and recorded as a failure."""
    from huzhu.reports.models import ClaimFacts
    from huzhu.reports.rollup import rollup_check

    job = JOBS["report-rollup-check"]
    assert (job.period_seconds, job.at_hour) == (86400, 5)
    assert scheduled_job_run("report-rollup-check")["ok"] is True

    ClaimFacts.objects.create(
        scheme_year_id=1,
        union_id=1,
        benefit_code="x",
        status="approved",
        channel="x",
        approved_month="2026-01",
        paid_month="",
        claims=1,
        amount_fen=100,
    )
    assert rollup_check()["ok"] is False
    with pytest.raises(RuntimeError, match="rollups differed from the claims"):
        scheduled_job_run("report-rollup-check")
    row = ScheduledJob.objects.get(name="report-rollup-check")
    assert not row.last_ok and row.failures == 1 and "ok=True" in row.last_result
    assert rollup_check()["ok"] is True  # repaired
