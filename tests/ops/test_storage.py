"""The private storage: a 0700 folder by default, or an S3-compatible bucket shared by every
app server and worker (tested against moto's S3 server on a local port)."""

import stat

import pytest
from django.core.files.storage import storages

from huzhu.core.storage import private_storage, storage_check, storage_settings
from huzhu.members.documents import document_check, document_store
from tests.factories import MemberFactory
from tests.member_pages.images import jpeg_bytes

pytestmark = pytest.mark.django_db


def test_papers_are_written_0600_in_0700_folders(settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "documents"
    member = MemberFactory()
    doc = document_store(
        member=member,
        kind="invoice",
        checked=document_check(jpeg_bytes(), name="a.jpg"),
        acting_user=None,
    )
    path = tmp_path / "documents" / doc.file.name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "documents").stat().st_mode) == 0o700


def test_storage_settings_from_the_environment():
    assert storage_settings({})["BACKEND"] == "huzhu.core.storage.LocalPrivateStorage"
    s3 = storage_settings(
        {
            "HUZHU_STORAGE": "s3",
            "HUZHU_S3_BUCKET": "papers",
            "HUZHU_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
            "HUZHU_S3_ACCESS_KEY": "k",
            "HUZHU_S3_SECRET_KEY": "s",
        }
    )
    assert s3["BACKEND"] == "storages.backends.s3.S3Storage"
    assert s3["OPTIONS"]["bucket_name"] == "papers"
    assert s3["OPTIONS"]["default_acl"] is None  # never public-read
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="HUZHU_S3_BUCKET"):
        storage_settings({"HUZHU_STORAGE": "s3"})
    with pytest.raises(ImproperlyConfigured):
        storage_settings({"HUZHU_STORAGE": "ftp"})


def test_papers_go_to_the_object_store_and_read_back(s3_storage):
    client, bucket = s3_storage
    member = MemberFactory()
    content = jpeg_bytes()
    checked = document_check(content, name="发票.jpg")
    doc = document_store(member=member, kind="invoice", checked=checked, acting_user=None)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [f"private/{doc.file.name}"]
    # Private: the bucket object has no public grant.
    grants = client.get_object_acl(Bucket=bucket, Key=keys[0])["Grants"]
    assert not [g for g in grants if "AllUsers" in str(g.get("Grantee", {}))]
    # Another process (a fresh storage object) reads the same bytes.
    from huzhu.members.models import MemberDocument

    again = MemberDocument.objects.get(pk=doc.pk)
    with again.file.open("rb") as fh:
        assert fh.read() == checked.content
    assert type(storages["private"]).__name__ == "S3Storage"
    assert private_storage.exists(doc.file.name)
    assert storage_check() == {"kind": "S3Storage"}


def test_a_paper_uploaded_through_one_server_is_served_by_another(s3_storage, client):
    """Two app servers share nothing but the database and the bucket: the review page's
    paper view reads the object the upload wrote."""
    from huzhu.organizations.models import Role
    from tests.factories import ClaimFactory, UserFactory

    claim = ClaimFactory()
    checked = document_check(jpeg_bytes(), name="a.jpg")
    doc = document_store(
        member=claim.member, kind="invoice", checked=checked, acting_user=None, claim=claim
    )
    reviewer = UserFactory(username="rv", role=Role.FEDERATION_REVIEWER)
    client.force_login(reviewer)
    storages._storages.clear()  # as a second process: no storage object shared
    response = client.get(f"/staff/claims/review/documents/{doc.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content if response.streaming else [response.content]) == (
        checked.content
    )
