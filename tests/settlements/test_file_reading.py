"""Settlement files through the one table reader: title rows, workbooks, and uploads that
fail in the worker end `failed` with a reason (never `pending`), without server paths."""

import polars as pl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huzhu.claims.models import Claim
from huzhu.organizations.models import Role
from huzhu.settlements.models import SettlementBatch, SettlementRecord, SettlementRowProblem
from huzhu.settlements.services import settlement_import_file
from tests import hostile_files as hostile
from tests.factories import UserFactory
from tests.settlements.conftest import HEADER, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(union):
    return UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=union)


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "private"  # uploads too


def _upload(client, reviewer, name, data, capture):
    client.force_login(reviewer)
    with capture(execute=True):  # the immediate task backend runs the import on commit
        client.post("/staff/settlements/", {"file": SimpleUploadedFile(name, data)})
    return SettlementBatch.objects.get()


def test_a_settlement_file_with_a_title_row_is_imported(plans, enroll, tmp_path):
    # Was refused (missing columns) while an enrollment file with a title row was accepted.
    m = enroll(name="标题")
    path = tmp_path / "titled.csv"
    lines = [
        "嵊州市医保局结算数据导出",
        "",
        HEADER,
        row("T1", m),
        row("T2", m, base="x", total="1.00"),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="gbk")
    result = settlement_import_file(path=path)
    assert result.summary["rows"] == 2 and result.summary["created"] == 1
    assert Claim.objects.filter(settlement_id="T1").exists()
    # Rows are numbered as in the file: the bad amount is on line 5.
    assert SettlementRecord.objects.get(settlement_id="T1").row_number == 4
    assert SettlementRowProblem.objects.get().row_number == 5


def test_an_unexpected_error_in_the_task_ends_the_batch_failed_with_the_reason(
    client, reviewer, plans, enroll, monkeypatch, django_capture_on_commit_callbacks
):
    def shape_error(*args, **kwargs):
        raise pl.exceptions.ShapeError("unable to vstack, column names don't match")

    monkeypatch.setattr("huzhu.settlements.services.settlement_import", shape_error)
    m = enroll(name="异常")
    data = ("\n".join([HEADER, row("E1", m)]) + "\n").encode()
    batch = _upload(client, reviewer, "ok.csv", data, django_capture_on_commit_callbacks)
    assert batch.state == "failed"  # was: pending for ever
    assert "ShapeError" in batch.error and "vstack" not in batch.error
    assert batch.upload_path == ""
    page = client.get(f"/staff/settlements/batches/{batch.pk}/").content.decode()
    assert "ShapeError" in page


def test_blank_header_cells_with_data_fail_the_batch_with_a_reason(
    client, reviewer, plans, enroll, django_capture_on_commit_callbacks
):
    m = enroll(name="空表头")
    data = hostile.duplicate_blank_headers_csv(HEADER.split(","), row("B1", m).split(","))
    batch = _upload(client, reviewer, "blank.csv", data, django_capture_on_commit_callbacks)
    assert batch.state == "failed" and "没有表头" in batch.error
    assert not SettlementRecord.objects.exists()


def test_a_workbook_that_would_abort_the_worker_fails_its_batch_and_the_worker_lives(
    client, reviewer, plans, django_capture_on_commit_callbacks
):
    # The sheet claims A1:B2 but holds a cell at XFD1048576: calamine allocates 512 GiB and
    # aborts. Here it does so in the parsing child; this process runs the next batch.
    data = hostile.sparse_xlsx("XFD1048576", declared="A1:B2")
    batch = _upload(client, reviewer, "sparse.xlsx", data, django_capture_on_commit_callbacks)
    assert batch.state == "failed" and "内存" in batch.error and "sparse.xlsx" in batch.error
    assert not SettlementRecord.objects.exists()


def test_an_out_of_bounds_upload_is_refused_on_the_page_before_it_is_queued(client, reviewer):
    client.force_login(reviewer)
    response = client.post(
        "/staff/settlements/",
        {"file": SimpleUploadedFile("sparse.xlsx", hostile.sparse_xlsx("XFD1048576"))},
    )
    assert response.status_code == 200
    assert "XFD1048576" in response.content.decode()
    assert not SettlementBatch.objects.exists()


def test_a_broken_workbook_fails_without_naming_the_server_path(
    client, reviewer, plans, tmp_path, django_capture_on_commit_callbacks
):
    data = hostile._xlsx(b"<worksheet><sheetData><row><c")
    batch = _upload(client, reviewer, "broken.xlsx", data, django_capture_on_commit_callbacks)
    assert batch.state == "failed" and "broken.xlsx" in batch.error
    assert str(tmp_path) not in batch.error and "uploads" not in batch.error
