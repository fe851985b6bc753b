"""Backup and restore: the database and every stored file, with a manifest and checksums.

A backup is a folder:
    manifest.json          what is inside: database vendor, each file's size and SHA-256,
                           row counts of the main tables, migration state, encrypted or not
    database.pgdump        PostgreSQL: `pg_dump --format=custom` (restored by pg_restore)
    database.sqlite3       SQLite: a consistent copy through SQLite's online backup API
    files/private/...      the private storage (claim papers, uploads), any backend
    files/media/...        the portal's media (Wagtail images and documents)
With `--encrypt` every file is written encrypted (suffix `.enc`) with the Fernet key in
`HUZHU_BACKUP_KEY`, in 1 MiB authenticated chunks; the manifest holds the SHA-256 of what is on
disk (checkable without the key) and of the plain content (checked after decryption).

Restore refuses a target database that already holds Huzhu tables, and any file whose checksum
does not match, before it writes anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import storages
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

__all__ = ["BackupError", "backup_create", "backup_restore", "backup_verify"]

FORMAT = "huzhu-backup"
VERSION = 1
CHUNK = 1024 * 1024
STORAGES_BACKED_UP = ("private", "default")
_STORAGE_DIR = {"private": "private", "default": "media"}
COUNTED = {
    "members": "members.Member",
    "enrollments": "enrollment.Enrollment",
    "claims": "claims.Claim",
    "payment_batches": "payments.PaymentBatch",
    "documents": "members.MemberDocument",
    "audit_events": "audit.AuditEvent",
    "settlement_records": "settlements.SettlementRecord",
}


class BackupError(Exception):
    """A backup or restore that cannot go on; `message` says why in one sentence."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# --- encryption: Fernet tokens in length-prefixed chunks ------------------------------------


def _fernet():
    from cryptography.fernet import Fernet

    key = os.environ.get("HUZHU_BACKUP_KEY", "")
    if not key:
        raise BackupError("加密备份需要 HUZHU_BACKUP_KEY（Fernet 密钥）")
    try:
        return Fernet(key.encode())
    except ValueError:
        raise BackupError("HUZHU_BACKUP_KEY 不是有效的 Fernet 密钥")


def _encrypt_file(src: Path, dst: Path) -> None:
    fernet = _fernet()
    with src.open("rb") as fin, dst.open("wb") as fout:
        while chunk := fin.read(CHUNK):
            token = fernet.encrypt(chunk)
            fout.write(struct.pack(">I", len(token)))
            fout.write(token)


def _decrypt_chunks(path: Path) -> Iterator[bytes]:
    from cryptography.fernet import InvalidToken

    fernet = _fernet()
    with path.open("rb") as fin:
        while head := fin.read(4):
            (size,) = struct.unpack(">I", head)
            try:
                yield fernet.decrypt(fin.read(size))
            except InvalidToken:
                raise BackupError(f"{path.name} 无法解密：密钥不对或文件已损坏")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- the database --------------------------------------------------------------------------


def _pg_env_and_args() -> tuple[dict, list[str]]:
    db = settings.DATABASES["default"]
    env = {**os.environ}
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    args = ["--dbname", db["NAME"]]
    if db.get("HOST"):
        args += ["--host", db["HOST"]]
    if db.get("PORT"):
        args += ["--port", str(db["PORT"])]
    if db.get("USER"):
        args += ["--username", db["USER"]]
    return env, args


def _run(cmd: list[str], env: dict) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{cmd[0]} 失败：{done.stderr.strip()[-500:]}")


def _dump_database(folder: Path) -> Path:
    if connection.vendor == "postgresql":
        target = folder / "database.pgdump"
        env, args = _pg_env_and_args()
        _run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                "--no-privileges",
                *args,
                "--file",
                str(target),
            ],
            env,
        )
        return target
    if connection.vendor == "sqlite":
        target = folder / "database.sqlite3"
        connection.ensure_connection()
        dest = sqlite3.connect(target)
        try:
            connection.connection.backup(dest)
        finally:
            dest.close()
        return target
    raise BackupError(f"不支持的数据库：{connection.vendor}")


def _counts() -> dict:
    from django.apps import apps

    return {key: apps.get_model(label).objects.count() for key, label in COUNTED.items()}


def _migrations() -> dict:
    latest: dict[str, str] = {}
    for app, name in MigrationRecorder(connection).applied_migrations():
        if name > latest.get(app, ""):
            latest[app] = name
    return dict(sorted(latest.items()))


# --- files ---------------------------------------------------------------------------------


def _walk(storage, prefix: str = "") -> Iterator[str]:
    try:
        dirs, files = storage.listdir(prefix)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{prefix}{name}"
    for sub in dirs:
        yield from _walk(storage, f"{prefix}{sub}/")


@dataclass
class BackupResult:
    folder: Path
    manifest: dict

    def summary(self) -> dict:
        m = self.manifest
        return {
            "out": str(self.folder),
            "database": m["database"]["vendor"],
            "files": len(m["files"]),
            "bytes": m["database"]["size"] + sum(f["size"] for f in m["files"]),
            "encrypted": m["encrypted"],
            "counts": m["counts"],
        }


def backup_create(*, out: Path, encrypt: bool = False, include_files: bool = True) -> BackupResult:
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise BackupError(f"目标文件夹不是空的：{out.name}")
    if encrypt:
        _fernet()  # fail before any work when the key is missing
    out.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(out, 0o700)
    with tempfile.TemporaryDirectory(prefix="huzhu-backup-", dir=out) as tmp:
        tmp = Path(tmp)
        plain_db = _dump_database(tmp)
        counts, migrations = _counts(), _migrations()
        entries = []
        if include_files:
            for alias in STORAGES_BACKED_UP:
                storage = storages[alias]
                for name in _walk(storage):
                    local = tmp / "f"
                    with storage.open(name, "rb") as src, local.open("wb") as dst:
                        shutil.copyfileobj(src, dst, CHUNK)
                    rel = f"files/{_STORAGE_DIR[alias]}/{name}"
                    entries.append(
                        _place(local, out, rel, encrypt) | {"storage": alias, "name": name}
                    )
        database = _place(plain_db, out, plain_db.name, encrypt) | {"vendor": connection.vendor}
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "created_at": timezone.now().isoformat(),
        "encrypted": encrypt,
        "database": database,
        "files": entries,
        "counts": counts,
        "migrations": migrations,
    }
    manifest_path = out / "manifest.json"
    manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=1))
    os.chmod(manifest_path, 0o600)
    return BackupResult(out, manifest)


def _place(local: Path, out: Path, rel: str, encrypt: bool) -> dict:
    """Move a plain file into the backup (encrypting it when asked); its manifest entry."""
    entry = {"plain_sha256": _sha256(local), "size": local.stat().st_size}
    target = out / (rel + ".enc" if encrypt else rel)
    for parent in reversed(target.relative_to(out).parents[:-1]):
        (out / parent).mkdir(exist_ok=True, mode=0o700)
    if encrypt:
        _encrypt_file(local, target)
        local.unlink()
    else:
        shutil.move(local, target)
    os.chmod(target, 0o600)
    entry["path"] = str(target.relative_to(out))
    entry["sha256"] = _sha256(target)
    return entry


# --- verify and restore --------------------------------------------------------------------


def backup_verify(folder: Path) -> dict:
    """Read the manifest and check every file's on-disk checksum; returns the manifest."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        raise BackupError("不是 Huzhu 备份：缺少或无法读取 manifest.json")
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise BackupError("不是本版本的 Huzhu 备份（manifest 格式不符）")
    bad = []
    for entry in [manifest["database"], *manifest["files"]]:
        path = folder / entry["path"]
        if not path.is_file():
            bad.append(f"{entry['path']}: 缺失")
        elif _sha256(path) != entry["sha256"]:
            bad.append(f"{entry['path']}: 校验和不符")
    if bad:
        raise BackupError("备份不完整，未恢复任何内容：" + "；".join(bad[:20]))
    return manifest


def _plain(folder: Path, entry: dict, encrypted: bool, tmp: Path) -> Path:
    path = folder / entry["path"]
    if not encrypted:
        return path
    plain = tmp / Path(entry["path"]).name.removesuffix(".enc")
    with plain.open("wb") as fh:
        for chunk in _decrypt_chunks(path):
            fh.write(chunk)
    if _sha256(plain) != entry["plain_sha256"]:
        raise BackupError(f"{entry['path']} 解密后校验和不符")
    return plain


def _database_is_empty() -> bool:
    from django.apps import apps

    ours = {m._meta.db_table for m in apps.get_models()}
    return not (set(connection.introspection.table_names()) & ours)


def backup_restore(*, folder: Path) -> dict:
    folder = Path(folder)
    manifest = backup_verify(folder)
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise BackupError(f"备份来自 {vendor}，当前数据库是 {connection.vendor}")
    if not _database_is_empty():
        raise BackupError("目标数据库不是空的：恢复只写入新建的空数据库")
    targets = {alias: storages[alias] for alias in STORAGES_BACKED_UP}
    clashes = [e["name"] for e in manifest["files"] if targets[e["storage"]].exists(e["name"])]
    if clashes:
        raise BackupError("文件存储中已有同名文件：" + "、".join(clashes[:5]))
    encrypted = manifest["encrypted"]
    with tempfile.TemporaryDirectory(prefix="huzhu-restore-") as tmp:
        tmp = Path(tmp)
        database = _plain(folder, manifest["database"], encrypted, tmp)
        if vendor == "postgresql":
            env, args = _pg_env_and_args()
            _run(
                [
                    "pg_restore",
                    "--no-owner",
                    "--no-privileges",
                    "--exit-on-error",
                    *args,
                    str(database),
                ],
                env,
            )
        else:
            connection.ensure_connection()
            source = sqlite3.connect(database)
            try:
                source.backup(connection.connection)
            finally:
                source.close()
        for entry in manifest["files"]:
            plain = _plain(folder, entry, encrypted, tmp)
            with plain.open("rb") as fh:
                saved = targets[entry["storage"]].save(entry["name"], File(fh))
            if saved != entry["name"]:
                raise BackupError(f"文件 {entry['name']} 被存为 {saved}")
            if encrypted:
                plain.unlink()
    connection.close()
    counts = _counts()
    if counts != manifest["counts"]:
        raise BackupError(f"恢复后的行数与备份不符：{counts} ≠ {manifest['counts']}")
    return {"database": vendor, "files": len(manifest["files"]), "counts": counts}
