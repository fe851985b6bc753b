"""Uploaded files kept between an import's preview and its confirmation: the session side.

The bytes (and the preview's result) live in the private storage under a random token
(`huzhu/core/uploads.py`, so any app server can show or confirm a preview another one
received); what the token is for (file name, union, year, who uploaded) stays in the
uploader's session. A request names only the token; a token counts only if it matches
TOKEN_RE and the session knows it, so a client can neither choose a name nor use somebody
else's upload. Files hold personal data: they are deleted on confirm or cancel, and pruned
after a day.
"""

from __future__ import annotations

import time

from huzhu.core.uploads import (  # noqa: F401 (the pages use them through this module)
    MAX_AGE_SECONDS,
    TOKEN_RE,
    upload_delete,
    upload_preview_read,
    upload_preview_store,
    upload_read,
    upload_store,
    uploads_prune,
)

SESSION_KEY = "huzhu_uploads"


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
