"""`huzhu backup` / `huzhu restore`: a backup restored onto an empty database holds every
member, claim, batch and paper, and the audit trail intact; a damaged backup restores nothing."""

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection

from huzhu.audit.services import audit_record
from huzhu.core.crypto import decrypt_text
from huzhu.members.documents import document_check, document_store
from huzhu.members.models import Member
from huzhu.ops.backup import BackupError, backup_create
from huzhu.payments.models import PaymentBatch
from tests.factories import ClaimFactory
from tests.member_pages.images import jpeg_bytes

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def world(settings, tmp_path):
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "documents"
    claim = ClaimFactory()
    checked = document_check(jpeg_bytes(), name="发票.jpg")
    doc = document_store(
        member=claim.member, kind="invoice", checked=checked, acting_user=None, claim=claim
    )
    batch = PaymentBatch.objects.create(number="PB2026-0001", payee_kind="member")
    audit_record(actor=None, action="claim.approve", obj=claim, after={"amount": "1250.00"})
    return {"claim": claim, "doc": doc, "paper": checked.content, "batch": batch}


def _target(tmp_path) -> tuple[str, callable, callable]:
    """A new empty database of the same kind: its URL, a query function and a drop."""
    if connection.vendor == "sqlite":
        path = tmp_path / "restored.sqlite3"

        def query(sql):
            with sqlite3.connect(path) as db:
                return db.execute(sql).fetchall()

        return f"sqlite:///{path}", query, lambda: None
    import psycopg

    db = django_settings.DATABASES["default"]
    name = f"huzhu_restore_{uuid.uuid4().hex[:8]}"
    admin = dict(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"])
    with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')

    def query(sql):
        with psycopg.connect(dbname=name, **admin) as conn:
            return conn.execute(sql).fetchall()

    def drop():
        with psycopg.connect(dbname="postgres", autocommit=True, **admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    url = f"postgres://{admin['user']}@{admin['host']}:{admin['port']}/{name}"
    return url, query, drop


def _restore(folder, url, tmp_path, **env):
    """`huzhu restore` as another machine would run it: its own process and settings."""
    environment = {
        **os.environ,
        "DATABASE_URL": url,
        "SECRET_KEY": django_settings.SECRET_KEY,
        "HUZHU_FIELD_KEY": django_settings.FIELD_ENCRYPTION_KEY,
        "HUZHU_VAR_DIR": str(tmp_path / "restored-var"),
        "HUZHU_DOCUMENT_DIR": str(tmp_path / "restored-documents"),
        "DJANGO_SETTINGS_MODULE": "huzhu.settings",
        **env,
    }
    environment.pop("DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "huzhu", "restore", str(folder)],
        env=environment,
        capture_output=True,
        text=True,
        cwd=REPO,
    )


def test_backup_then_restore_onto_an_empty_database(world, tmp_path, capsys):
    call_command("backup", "--out", str(tmp_path / "bk"))
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["files"] == 1 and summary["counts"]["claims"] == 1
    assert oct((tmp_path / "bk").stat().st_mode & 0o777) == "0o700"
    url, query, drop = _target(tmp_path)
    try:
        done = _restore(tmp_path / "bk", url, tmp_path)
        assert done.returncode == 0, done.stderr
        restored = json.loads(done.stdout.strip().splitlines()[-1])
        assert restored["counts"] == summary["counts"]
        claim = world["claim"]
        assert query(f"SELECT number, status FROM claims_claim WHERE id = {claim.pk}") == [
            (claim.number, claim.status)
        ]
        assert query("SELECT number FROM payments_paymentbatch") == [("PB2026-0001",)]
        # ID numbers and phones come back as stored: ciphertext, index and mask, readable.
        member = Member.objects.get(pk=claim.member_id)
        (stored,) = query(
            "SELECT id_number_encrypted, id_number_hash, id_number_masked, phone_encrypted "
            f"FROM members_member WHERE id = {member.pk}"
        )
        assert stored == (
            member.id_number_encrypted,
            member.id_number_hash,
            member.id_number_masked,
            member.phone_encrypted,
        )
        assert decrypt_text(stored[0]) == member.id_number
        assert query("SELECT action, object_id FROM audit_auditevent") == [
            ("claim.approve", str(claim.pk))
        ]
        paper = tmp_path / "restored-documents" / world["doc"].file.name
        assert paper.read_bytes() == world["paper"]
    finally:
        drop()


def test_a_damaged_backup_restores_nothing(world, tmp_path, capsys):
    call_command("backup", "--out", str(tmp_path / "bk"))
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    paper = tmp_path / "bk" / manifest["files"][0]["path"]
    paper.write_bytes(paper.read_bytes()[:-10])
    url, query, drop = _target(tmp_path)
    try:
        done = _restore(tmp_path / "bk", url, tmp_path)
        assert done.returncode == 1
        assert "校验和不符" in done.stderr
        assert not (tmp_path / "restored-documents").exists()
        tables = (
            query("SELECT name FROM sqlite_master WHERE type='table'")
            if connection.vendor == "sqlite"
            else query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        assert tables == []
    finally:
        drop()


def test_restore_refuses_a_database_that_is_not_empty(world, tmp_path):
    call_command("backup", "--out", str(tmp_path / "bk"), "--no-files")
    from huzhu.ops.backup import backup_restore

    with pytest.raises(BackupError, match="不是空的"):
        backup_restore(folder=tmp_path / "bk")


def test_encrypted_backup_needs_its_key(world, tmp_path, monkeypatch):
    from cryptography.fernet import Fernet

    key = Fernet.generate_key().decode()
    monkeypatch.setenv("HUZHU_BACKUP_KEY", key)
    result = backup_create(out=tmp_path / "bk", encrypt=True)
    stored = [tmp_path / "bk" / e["path"] for e in result.manifest["files"]]
    assert all(p.suffix == ".enc" for p in stored)
    assert world["paper"][:64] not in stored[0].read_bytes()
    url, query, drop = _target(tmp_path)
    try:
        wrong = _restore(
            tmp_path / "bk", url, tmp_path, HUZHU_BACKUP_KEY=Fernet.generate_key().decode()
        )
        assert wrong.returncode == 1 and "无法解密" in wrong.stderr
        done = _restore(tmp_path / "bk", url, tmp_path, HUZHU_BACKUP_KEY=key)
        assert done.returncode == 0, done.stderr
        paper = tmp_path / "restored-documents" / world["doc"].file.name
        assert paper.read_bytes() == world["paper"]
    finally:
        drop()
    monkeypatch.delenv("HUZHU_BACKUP_KEY")
    with pytest.raises(BackupError, match="HUZHU_BACKUP_KEY"):
        backup_create(out=tmp_path / "bk2", encrypt=True)
