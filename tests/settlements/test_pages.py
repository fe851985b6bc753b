"""Staff pages: upload a bureau file, watch the batch, find the claims with their breakdown."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huzhu.claims.models import Claim
from huzhu.organizations.models import Role
from huzhu.settlements.models import SettlementBatch
from tests.factories import UnionFactory, UserFactory
from tests.settlements.conftest import HEADER, row

pytestmark = pytest.mark.django_db


@pytest.fixture
def reviewer(union):
    return UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=union)


@pytest.fixture(autouse=True)
def _uploads(settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "private"  # uploads too


def upload(client, lines, name="bureau.csv"):
    data = ("\n".join([HEADER, *lines]) + "\n").encode("utf-8")
    return client.post(
        "/staff/settlements/",
        {"file": SimpleUploadedFile(name, data, content_type="text/csv"), "source": "ybj"},
    )


def test_reviewer_uploads_a_file_and_finds_the_claims(
    client, plans, enroll, reviewer, django_capture_on_commit_callbacks
):
    m = enroll(name="钱七")
    client.force_login(reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(
            client, [row("U1", m, base="12000.00", admit="2026-05-01", discharge="2026-05-10")]
        )
    batch = SettlementBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/staff/settlements/batches/{batch.pk}/"
    # The immediate task backend ran the import when the upload committed.
    batch.refresh_from_db()
    assert batch.state == "done" and batch.rows_done == batch.rows_total == 1
    assert batch.upload_path == ""
    page = client.get(response["Location"]).content.decode()
    assert "已完成" in page and "新建申请" in page and "5,900.00" in page  # separators
    assert "5900.00" not in page
    claim = Claim.objects.get(settlement_id="U1")
    listing = client.get("/staff/claims/?source=auto&status=approved").content.decode()
    assert claim.number in listing
    detail = client.get(f"/staff/claims/{claim.pk}/").content.decode()
    assert "计算明细" in detail and "5,900.00" in detail and f"#{batch.pk}" in detail


def test_a_running_batch_shows_its_progress(client, reviewer, union):
    batch = SettlementBatch.objects.create(
        file_name="big.csv", checksum="x" * 64, state="running", rows_total=1000, rows_done=250
    )
    client.force_login(reviewer)
    page = client.get(f"/staff/settlements/batches/{batch.pk}/").content.decode()
    assert (
        "已处理 <strong>250</strong>" in page and "1000" in page.replace(",", "") and "25%" in page
    )
    assert 'http-equiv="refresh"' in page


def test_union_operator_cannot_import_and_sees_only_its_unions_claims(
    client, plans, enroll, write_csv, union
):
    from huzhu.settlements.services import settlement_import_file

    mine = enroll(name="孙八")
    other_union = UnionFactory(code="WOTHER", name="别的工会")
    operator = UserFactory(username="op", role=Role.UNION_OPERATOR, union=other_union)
    settlement_import_file(path=write_csv([row("V1", mine)]))
    client.force_login(operator)
    assert client.get("/staff/settlements/").status_code == 403
    assert upload(client, [row("V2", mine)]).status_code == 403
    claim = Claim.objects.get(settlement_id="V1")
    assert claim.number not in client.get("/staff/claims/").content.decode()
    assert client.get(f"/staff/claims/{claim.pk}/").status_code == 404
    own = UserFactory(username="op2", role=Role.UNION_OPERATOR, union=union)
    client.force_login(own)
    assert claim.number in client.get("/staff/claims/").content.decode()


def test_upload_of_an_unreadable_file_is_refused_on_the_page(client, reviewer):
    client.force_login(reviewer)
    response = client.post(
        "/staff/settlements/",
        {"file": SimpleUploadedFile("x.pdf", b"%PDF", content_type="application/pdf")},
    )
    assert response.status_code == 200
    assert "只支持 CSV 或 Excel（.xlsx/.xls/.ods）文件" in response.content.decode()
    assert not SettlementBatch.objects.exists()


def test_upload_page_defaults_the_source_to_a_word_and_lists_not_enrolled_rows(
    client, plans, enroll, reviewer, django_capture_on_commit_callbacks
):
    from tests.factories import make_id_number

    m = enroll(name="周九")
    client.force_login(reviewer)
    form = client.get("/staff/settlements/").content.decode()
    assert 'name="source" value="医保局"' in form
    data = ("\n".join([HEADER, row("P1", m), row("P2", make_id_number())]) + "\n").encode()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/staff/settlements/",
            {"file": SimpleUploadedFile("b.csv", data, content_type="text/csv"), "source": ""},
        )
    batch = SettlementBatch.objects.get()
    assert batch.source == "医保局"
    page = client.get(response["Location"]).content.decode()
    # the record of a person not enrolled is among the refused rows, at its row in the file
    refused = page.split('id="batch-problems"')[1].split("</table>")[0]
    assert '<td class="num">3</td>' in refused and "P2" in refused
    assert "身份证号" in refused and "未参保" in refused
