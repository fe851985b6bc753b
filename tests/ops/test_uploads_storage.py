"""Uploads waiting for a preview or a background task live in the private storage, so a second
app server or worker reads what the first received: the local folder, and an S3 bucket on the
moto server the test run starts (tests/s3.py)."""

import stat
from datetime import UTC, datetime, timedelta

import pytest

from huzhu.core import uploads
from tests.s3 import as_another_process, stored_names

pytestmark = pytest.mark.django_db


def test_a_preview_upload_and_its_result_are_read_by_another_server(storage_kind):
    token = uploads.upload_store(b"id_number,name\n1,2\n")
    uploads.upload_preview_store(token, {"rows": 1, "problems": []})
    assert stored_names(storage_kind) == [f"uploads/{token}", f"uploads/{token}.preview"]
    as_another_process()
    assert uploads.upload_read(token) == b"id_number,name\n1,2\n"
    assert uploads.upload_preview_read(token) == {"rows": 1, "problems": []}
    # A second preview result replaces the first (same name, not a renamed copy).
    uploads.upload_preview_store(token, {"rows": 2})
    assert uploads.upload_preview_read(token) == {"rows": 2}
    assert len(stored_names(storage_kind)) == 2
    uploads.upload_delete(token)
    assert stored_names(storage_kind) == []
    assert uploads.upload_read(token) is None and uploads.upload_preview_read(token) is None


def test_a_token_never_names_anything_but_an_upload(storage_kind):
    for bad in ("../../etc/passwd", "x", "", "a" * 31, "a/" + "b" * 40):
        assert uploads.upload_read(bad) is None
        uploads.upload_delete(bad)  # nothing happens
    with pytest.raises(ValueError):
        uploads.upload_save(b"x", folder="../x")
    with pytest.raises(ValueError):
        uploads.upload_save(b"x", folder="settlements", suffix="/../x")


def test_abandoned_previews_are_pruned_after_a_day_and_task_files_are_left(storage_kind):
    old = uploads.upload_store(b"old")
    uploads.upload_preview_store(old, [1])
    waiting = uploads.upload_save(b"a,b\n", folder="settlements", suffix=".csv")
    assert uploads.uploads_prune() == 0  # all fresh
    later = datetime.now(UTC) + timedelta(days=1, minutes=1)
    fresh = uploads.upload_store(b"fresh")
    assert uploads.uploads_prune(now=later) == 3  # old, its preview, and `fresh` by then
    assert stored_names(storage_kind) == [waiting]
    assert uploads.upload_read(fresh) is None


def test_the_prune_job_runs_on_an_empty_storage(storage_kind):
    from huzhu.ops.scheduler import scheduled_job_run

    assert scheduled_job_run("uploads-prune") == {"deleted": 0}


def test_a_task_file_is_read_through_a_private_temporary_copy_on_s3(s3_storage):
    name = uploads.upload_save(b"a,b\n1,2\n", folder="settlements", suffix=".csv")
    with uploads.upload_local_copy(name) as path:
        assert path.read_bytes() == b"a,b\n1,2\n"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        copy = path
    assert not copy.exists() and not copy.parent.exists()
    uploads.upload_remove(name)
    with pytest.raises(uploads.UploadMissing), uploads.upload_local_copy(name):
        pass
