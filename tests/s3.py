"""moto's S3-compatible server (server mode, a free loopback port) started once per test
run, and a fixture that points the private storage at a fresh bucket on it."""

import pytest
from django.core.files.storage import storages

from huzhu.core.storage import storage_settings


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3-compatible server on a free local port, for the whole run."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def s3_storage(s3_server, settings):
    """The private storage on a bucket of the moto server; yields (boto3 client, bucket)."""
    import boto3

    bucket = "huzhu-test-papers"
    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        aws_access_key_id="test",
        aws_secret_access_key="test",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {
        **settings.STORAGES,
        "private": storage_settings(
            {
                "HUZHU_STORAGE": "s3",
                "HUZHU_S3_BUCKET": bucket,
                "HUZHU_S3_ENDPOINT_URL": s3_server,
                "HUZHU_S3_ACCESS_KEY": "test",
                "HUZHU_S3_SECRET_KEY": "test",
                "HUZHU_S3_REGION": "us-east-1",
            }
        ),
    }  # (setting_changed drops the storage objects made from the old configuration)
    yield client, bucket
    for obj in client.list_objects_v2(Bucket=bucket).get("Contents", []):
        client.delete_object(Bucket=bucket, Key=obj["Key"])


@pytest.fixture(params=["local", "s3"])
def storage_kind(request, settings, tmp_path):
    """The private storage, once as the local folder and once as a bucket on the moto S3
    server: a test using it runs against both."""
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "private"
    if request.param == "s3":
        client, bucket = request.getfixturevalue("s3_storage")
        return {"kind": "s3", "client": client, "bucket": bucket}
    return {"kind": "local", "root": tmp_path / "private"}


def stored_names(kind) -> list[str]:
    if kind["kind"] == "s3":
        contents = kind["client"].list_objects_v2(Bucket=kind["bucket"]).get("Contents", [])
        return sorted(o["Key"].removeprefix("private/") for o in contents)
    root = kind["root"]
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


def as_another_process():
    """A second app server or worker shares only the database and the storage."""
    storages._storages.clear()  # no storage object carried over
