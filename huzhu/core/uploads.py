"""Uploaded import files kept between their upload and their use, in the private storage
(`huzhu/core/storage.py`: a 0700 folder, or the S3 bucket every app server and worker shares).

Two kinds:
- a preview upload (enrollment import): `upload_store(data)` keeps the bytes under
  `uploads/<token>` and returns a random token; the preview's result is kept beside it
  (`uploads/<token>.preview`), so paging through a preview neither parses the file again nor
  re-checks every row. A request names only the token; the storage name is always built here
  from a token that matches TOKEN_RE (which token belongs to whom is the caller's business:
  the staff pages keep it in the uploader's session, `huzhu/web/uploads.py`).
- a file waiting for its background task (settlement upload): `upload_save(data, folder=...,
  suffix=...)` returns the storage name the task is given; the task, on whichever worker runs
  it, reads the file through `upload_local_copy(name)` (the table reader wants a local file: a
  private temporary copy when the storage is remote) and deletes it with `upload_remove`.

Files hold personal data: they are deleted when used or cancelled, and `uploads_prune` (a
periodic job) deletes abandoned previews after a day.
"""

from __future__ import annotations

import os
import pickle
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, storages

from .storage import private_storage

__all__ = [
    "MAX_AGE_SECONDS",
    "UploadMissing",
    "TOKEN_RE",
    "upload_delete",
    "upload_local_copy",
    "upload_preview_read",
    "upload_preview_store",
    "upload_read",
    "upload_remove",
    "upload_save",
    "upload_store",
    "uploads_prune",
]

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
MAX_AGE_SECONDS = 24 * 3600
PREFIX = "uploads"
PREVIEW_SUFFIX = ".preview"


class UploadMissing(FileNotFoundError):
    """The stored upload a task was given is not there (deleted, or never written)."""


def _name(token: str) -> str:
    if not TOKEN_RE.match(token or ""):
        raise ValueError("bad upload token")
    return f"{PREFIX}/{token}"


def _replace(name: str, data: bytes) -> None:
    """Write `data` under exactly `name` (the storage would pick another name if it existed)."""
    if private_storage.exists(name):
        private_storage.delete(name)
    saved = private_storage.save(name, ContentFile(data))
    if saved != name:  # a concurrent writer of the same random token: cannot happen
        private_storage.delete(saved)
        raise FileExistsError(name)


# --- preview uploads (token) ---------------------------------------------------------------


def upload_store(data: bytes) -> str:
    """Keep `data` under a new random token and return the token."""
    token = secrets.token_urlsafe(32)
    _replace(_name(token), data)
    return token


def upload_read(token: str) -> bytes | None:
    try:
        name = _name(token)
        with private_storage.open(name, "rb") as fh:
            return fh.read()
    except (ValueError, FileNotFoundError, OSError):
        return None


def upload_delete(token: str) -> None:
    try:
        name = _name(token)
    except ValueError:
        return
    private_storage.delete(name)
    private_storage.delete(name + PREVIEW_SUFFIX)


def upload_preview_store(token: str, result) -> None:
    """Keep a preview's result (a picklable object) for the upload `token`."""
    _replace(_name(token) + PREVIEW_SUFFIX, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))


def upload_preview_read(token: str):
    """The result kept by `upload_preview_store`, or None. Only this module writes these
    objects, in the private storage, under tokens it made."""
    try:
        with private_storage.open(_name(token) + PREVIEW_SUFFIX, "rb") as fh:
            return pickle.loads(fh.read())
    except (ValueError, OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return None


def uploads_prune(max_age: int = MAX_AGE_SECONDS, *, now: datetime | None = None) -> int:
    """Delete preview uploads (and their results) older than `max_age` seconds: abandoned
    previews. Returns how many objects were deleted. Files waiting for a task (sub-folders)
    are the task's to delete."""
    try:
        _dirs, files = private_storage.listdir(PREFIX)
    except FileNotFoundError:
        return 0
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=max_age)
    deleted = 0
    for file in files:
        if not TOKEN_RE.match(file.removesuffix(PREVIEW_SUFFIX)):
            continue
        name = f"{PREFIX}/{file}"
        try:
            if private_storage.get_modified_time(name) < cutoff:
                private_storage.delete(name)
                deleted += 1
        except (OSError, FileNotFoundError):
            pass
    return deleted


# --- files waiting for a background task (storage name) ---------------------------------


def upload_save(data: bytes, *, folder: str, suffix: str = "") -> str:
    """Keep `data` for a background task; returns its storage name (`uploads/<folder>/…`)."""
    if not re.fullmatch(r"[a-z0-9_-]+", folder) or not re.fullmatch(r"(\.[A-Za-z0-9]+)?", suffix):
        raise ValueError("bad upload folder or suffix")
    name = f"{PREFIX}/{folder}/{secrets.token_urlsafe(24)}{suffix}"
    _replace(name, data)
    return name


def _is_legacy_path(name: str) -> bool:
    # Batches queued before uploads moved to the storage API hold an absolute local path.
    return os.path.isabs(name)


@contextmanager
def upload_local_copy(name: str) -> Iterator[Path]:
    """A local file holding the stored upload `name`, for readers that want a path: the file
    itself with the local folder storage, otherwise a private temporary copy (deleted on
    exit). Raises UploadMissing when the upload is gone."""
    if _is_legacy_path(name):
        path = Path(name)
        if not path.is_file():
            raise UploadMissing(name)
        yield path
        return
    storage = storages["private"]
    if isinstance(storage, FileSystemStorage):
        path = Path(storage.path(name))
        if not path.is_file():
            raise UploadMissing(name)
        yield path
        return
    if not storage.exists(name):
        raise UploadMissing(name)
    folder = tempfile.mkdtemp(prefix="huzhu-upload-")  # 0700
    try:
        path = Path(folder) / Path(name).name
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with storage.open(name, "rb") as src, os.fdopen(fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def upload_remove(name: str) -> None:
    """Delete a stored upload (nothing if already gone)."""
    if not name:
        return
    if _is_legacy_path(name):
        Path(name).unlink(missing_ok=True)
        return
    private_storage.delete(name)
