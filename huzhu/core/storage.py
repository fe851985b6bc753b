"""Where files live: one private storage for personal files (claim papers, uploaded import
files waiting for their task, exports kept for later), through Django's storage API.

- `HUZHU_STORAGE=local` (default): a folder (`HUZHU_DOCUMENT_DIR`, default
  `<VAR_DIR>/private/documents`), files 0600 in 0700 folders, never under `/media/`.
- `HUZHU_STORAGE=s3`: any S3-compatible object store through django-storages
  (`HUZHU_S3_ENDPOINT_URL`, `HUZHU_S3_BUCKET`, `HUZHU_S3_ACCESS_KEY`, `HUZHU_S3_SECRET_KEY`,
  `HUZHU_S3_REGION`), objects private (no public ACL); the platform reads them and serves them
  through its own permission checks, so several app servers and workers share every file.

`private_storage` is the one handle the code uses; it resolves `storages["private"]` at each
use, so tests can switch the configuration.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.utils.functional import LazyObject

__all__ = ["LocalPrivateStorage", "private_storage", "storage_check", "storage_settings"]


class LocalPrivateStorage(FileSystemStorage):
    """A folder that follows `HUZHU_DOCUMENT_DIR` at each use; files 0600, folders 0700."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        super().__init__(base_url=None, **kwargs)

    @property
    def base_location(self):  # type: ignore[override]
        configured = getattr(settings, "HUZHU_DOCUMENT_DIR", None)
        return str(configured or Path(settings.VAR_DIR) / "private" / "documents")

    @property
    def location(self):  # type: ignore[override]
        return str(Path(self.base_location).resolve())


class _PrivateStorage(LazyObject):
    def _setup(self) -> None:
        self._wrapped = storages["private"]

    def __getattr__(self, name):
        # Always the current backend (settings may change in tests).
        return getattr(storages["private"], name)

    def deconstruct(self):  # pragma: no cover - FileFields name a callable, not this object
        return ("huzhu.core.storage.private_storage", (), {})


private_storage = _PrivateStorage()


def storage_settings(environ=os.environ) -> dict:
    """The `STORAGES["private"]` entry from the environment (see the module docstring)."""
    kind = environ.get("HUZHU_STORAGE", "local").strip().lower()
    if kind == "local":
        return {"BACKEND": "huzhu.core.storage.LocalPrivateStorage"}
    if kind != "s3":
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured(f"HUZHU_STORAGE must be local or s3, not {kind!r}")
    missing = [n for n in ("HUZHU_S3_BUCKET",) if not environ.get(n)]
    if missing:
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("HUZHU_STORAGE=s3 needs " + ", ".join(missing))
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": environ["HUZHU_S3_BUCKET"],
            "endpoint_url": environ.get("HUZHU_S3_ENDPOINT_URL") or None,
            "access_key": environ.get("HUZHU_S3_ACCESS_KEY") or None,
            "secret_key": environ.get("HUZHU_S3_SECRET_KEY") or None,
            "region_name": environ.get("HUZHU_S3_REGION") or None,
            "location": environ.get("HUZHU_S3_PREFIX", "private"),
            "default_acl": None,  # the bucket's default: private
            "querystring_auth": True,
            "querystring_expire": 300,
            "file_overwrite": False,
            "addressing_style": "path",
        },
    }


def storage_check() -> dict:
    """A cheap round trip to the private storage (for /healthz): nothing personal is read."""
    storage = storages["private"]
    if isinstance(storage, FileSystemStorage):
        location = Path(storage.location)
        location.mkdir(parents=True, exist_ok=True, mode=0o700)
        if not os.access(location, os.W_OK):
            raise PermissionError("storage folder not writable")
        return {"kind": "local"}
    storage.exists("healthz-probe")
    return {"kind": type(storage).__name__}
