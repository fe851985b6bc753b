"""运行状态 page: admins see jobs, workers and health; others are refused."""

import pytest

from huzhu.audit.models import AuditEvent
from huzhu.ops.models import ScheduledJob
from huzhu.ops.scheduler import heartbeat_write
from huzhu.organizations.models import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_admin_sees_jobs_workers_and_can_run_a_job(client, settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "docs"
    admin = UserFactory(username="adm", role=Role.ADMIN)
    heartbeat_write()
    client.force_login(admin)
    page = client.get("/staff/ops/").content.decode()
    assert "补发未送达的通知" in page and "notifications-redeliver" in page
    assert "运行中" in page  # the worker's heartbeat
    response = client.post("/staff/ops/jobs/documents-prune/run/")
    assert response.status_code == 302
    row = ScheduledJob.objects.get(name="documents-prune")
    assert row.runs == 1 and row.last_ok is True
    assert AuditEvent.objects.filter(action="ops.job_run", object_id="documents-prune").exists()
    assert client.post("/staff/ops/jobs/nope/run/").status_code == 404


@pytest.mark.parametrize("role", [Role.FEDERATION_REVIEWER, Role.UNION_OPERATOR])
def test_other_roles_are_refused(client, role):
    client.force_login(UserFactory(username="u", role=role))
    assert client.get("/staff/ops/").status_code == 403
    assert client.post("/staff/ops/jobs/documents-prune/run/").status_code == 403
    assert not ScheduledJob.objects.exists()


def test_the_nightly_readjudication_is_on_the_page_and_runs_from_it(client):
    client.force_login(UserFactory(username="adm2", role=Role.ADMIN))
    page = client.get("/staff/ops/").content.decode()
    assert "settlements-readjudicate" in page and "重新判定迟到数据的结算记录" in page
    assert client.post("/staff/ops/jobs/settlements-readjudicate/run/").status_code == 302
    row = ScheduledJob.objects.get(name="settlements-readjudicate")
    assert row.runs == 1 and row.last_ok is True
