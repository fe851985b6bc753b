"""Uploaded files kept between an import's preview and its confirmation.

The bytes go to `<VAR_DIR>/uploads/<token>` under a random token; what the token is for
(file name, union, year, who uploaded) stays in the uploader's session. A request names only
the token; the path is always built here from a token that matches TOKEN_RE and that the
session knows, so a client can neither choose a path nor use somebody else's upload.
Files hold personal data: they are deleted on confirm or cancel, and pruned after a day.
A preview's result is kept beside its upload (`<token>.preview`), so paging through a
preview neither parses the file again nor re-checks every row.
"""

from __future__ import annotations

import os
import pickle
import re
import secrets
import time
from pathlib import Path

from django.conf import settings

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{32,64}$")
MAX_AGE_SECONDS = 24 * 3600
SESSION_KEY = "huzhu_uploads"
PREVIEW_SUFFIX = ".preview"


def upload_dir() -> Path:
    return Path(getattr(settings, "HUZHU_UPLOAD_DIR", None) or Path(settings.VAR_DIR) / "uploads")


def _path(token: str) -> Path:
    if not TOKEN_RE.match(token or ""):
        raise ValueError("bad upload token")
    return upload_dir() / token


def upload_store(data: bytes) -> str:
    """Keep `data` under a new random token and return the token."""
    directory = upload_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    uploads_prune()
    token = secrets.token_urlsafe(32)
    path = _path(token)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    return token


def upload_read(token: str) -> bytes | None:
    try:
        return _path(token).read_bytes()
    except (ValueError, FileNotFoundError):
        return None


def upload_delete(token: str) -> None:
    try:
        path = _path(token)
    except ValueError:
        return
    path.unlink(missing_ok=True)
    _preview_path(path).unlink(missing_ok=True)


def _preview_path(path: Path) -> Path:
    return path.with_name(path.name + PREVIEW_SUFFIX)


def upload_preview_store(token: str, result) -> None:
    """Keep a preview's result (a picklable object) for the upload `token`."""
    path = _preview_path(_path(token))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        pickle.dump(result, fh, protocol=pickle.HIGHEST_PROTOCOL)


def upload_preview_read(token: str):
    """The result kept by `upload_preview_store`, or None. Only this module writes these
    files, in the private upload directory, under tokens it made."""
    try:
        with open(_preview_path(_path(token)), "rb") as fh:
            return pickle.load(fh)
    except (ValueError, OSError, pickle.UnpicklingError, EOFError, AttributeError):
        return None


def uploads_prune(max_age: int = MAX_AGE_SECONDS) -> None:
    """Delete uploads older than `max_age` seconds (abandoned previews)."""
    directory = upload_dir()
    if not directory.is_dir():
        return
    cutoff = time.time() - max_age
    for path in directory.iterdir():
        try:
            token = path.name.removesuffix(PREVIEW_SUFFIX)
            if TOKEN_RE.match(token) and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
        except OSError:
            pass


# --- the session side: which tokens this user uploaded, and for what ---------------------


def session_remember(session, token: str, meta: dict) -> None:
    uploads = dict(session.get(SESSION_KEY, {}))
    # Keep the session small: forget the oldest entries beyond a handful.
    for old in sorted(uploads, key=lambda t: uploads[t].get("at", 0))[:-9]:
        uploads.pop(old, None)
        upload_delete(old)
    uploads[token] = {**meta, "at": time.time()}
    session[SESSION_KEY] = uploads


def session_lookup(session, token: str) -> dict | None:
    if not TOKEN_RE.match(token or ""):
        return None
    return session.get(SESSION_KEY, {}).get(token)


def session_forget(session, token: str) -> None:
    uploads = dict(session.get(SESSION_KEY, {}))
    if uploads.pop(token, None) is not None:
        session[SESSION_KEY] = uploads
