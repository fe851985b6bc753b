"""Settlement uploads are kept in the private storage until the worker imports them: any
worker reads what any app server received (local folder, and an S3 bucket on the moto server),
and a task re-run after its worker died imports the batch once."""

import hashlib
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huzhu.claims.models import Claim
from huzhu.core import uploads
from huzhu.organizations.models import Role
from huzhu.settlements.models import SettlementBatch
from huzhu.settlements.services import settlement_batch_run, settlement_batch_upload
from tests.factories import UserFactory
from tests.s3 import as_another_process, stored_names
from tests.settlements.conftest import HEADER, row

pytestmark = pytest.mark.django_db


def test_a_settlement_upload_is_imported_by_a_worker_that_shares_only_the_storage(
    storage_kind, client, plans, enroll, union, django_capture_on_commit_callbacks
):
    reviewer = UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=union)
    m = enroll(name="钱七")
    client.force_login(reviewer)
    data = ("\n".join([HEADER, row("S3-1", m, base="12000.00")]) + "\n").encode()
    # The upload page (app server 1) stores the file; the task is not run here.
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(
            "/staff/settlements/",
            {"file": SimpleUploadedFile("bureau.csv", data, content_type="text/csv")},
        )
    assert response.status_code == 302
    batch = SettlementBatch.objects.get()
    assert batch.state == "pending"
    assert not Path(batch.upload_path).is_absolute()  # a storage name, not a server path
    assert stored_names(storage_kind) == [batch.upload_path]
    assert batch.checksum == hashlib.sha256(data).hexdigest()
    # The worker (another process) imports it from the storage and deletes it.
    as_another_process()
    summary = settlement_batch_run(batch_id=batch.pk)
    assert summary["created"] == 1
    batch.refresh_from_db()
    assert batch.state == "done" and batch.upload_path == ""
    assert stored_names(storage_kind) == []
    assert Claim.objects.filter(settlement_id="S3-1").count() == 1


def test_a_batch_whose_worker_died_is_imported_once_when_its_task_runs_again(
    storage_kind, plans, enroll, union
):
    """A worker killed mid-import leaves the batch `running` with its file stored (the
    import's transaction rolled back). The re-queued task imports it; running it once more
    (a duplicate job) imports nothing twice and leaves no file behind."""
    reviewer = UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=union)
    m = enroll(name="孙八")
    data = ("\n".join([HEADER, row("K1", m, base="12000.00")]) + "\n").encode()
    batch = settlement_batch_upload(data=data, file_name="b.csv", acting_user=reviewer)
    SettlementBatch.objects.filter(pk=batch.pk).update(state="running", rows_done=0)
    first = settlement_batch_run(batch_id=batch.pk)
    assert first["created"] == 1
    again = settlement_batch_run(batch_id=batch.pk)
    batch.refresh_from_db()
    assert again == batch.counts and batch.state == "done"
    assert Claim.objects.filter(settlement_id="K1").count() == 1
    assert stored_names(storage_kind) == []


def test_a_batch_whose_file_is_gone_fails_with_a_reason(storage_kind, union):
    reviewer = UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=union)
    batch = settlement_batch_upload(
        data=(HEADER + "\n").encode(), file_name="b.csv", acting_user=reviewer
    )
    uploads.upload_remove(batch.upload_path)
    assert "请重新上传" in settlement_batch_run(batch_id=batch.pk)["error"]
    batch.refresh_from_db()
    assert batch.state == "failed" and "请重新上传" in batch.error and batch.upload_path == ""
