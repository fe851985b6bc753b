"""Settlement imports: the entry points the command, the upload page, the push API and the
demo call. The work itself is `importing.settlement_import`.

    settlement_import_file(path=..., source=..., acting_user=None, progress=None)
    settlement_batch_upload(data=..., file_name=..., source=..., acting_user=...)  -> batch
    settlement_batch_run(batch_id=...)          the background task's body
    settlement_import_records(records=..., name=..., checksum=..., source=...)  push API
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from pathlib import Path

from django.conf import settings
from django.db import connection, connections, transaction

from huzhu.audit.services import audit_record
from huzhu.core.tabular import check_file

from .importing import ImportRefused, ImportResult, settlement_import
from .models import BatchChannel, BatchState, SettlementBatch
from .reading import (
    TableReadError,
    file_checksum,
    read_settlement_file,
    settlement_input_from_records,
)

__all__ = [
    "ImportRefused",
    "ImportResult",
    "TableReadError",
    "UPLOAD_SUFFIXES",
    "settlement_import_file",
    "settlement_batch_upload",
    "settlement_batch_run",
    "settlement_import_records",
    "batch_progress_writer",
]

UPLOAD_SUFFIXES = (".csv", ".txt", ".xlsx", ".xlsm", ".xls", ".ods")
logger = logging.getLogger(__name__)


def settlement_import_file(
    *,
    path: str | Path,
    source: str = "bureau",
    channel: str = BatchChannel.COMMAND,
    acting_user=None,
    file_name: str = "",
    batch: SettlementBatch | None = None,
    progress=None,
    plans=None,
) -> ImportResult:
    """Import a settlement file (CSV UTF-8/BOM/GBK or .xlsx/.xls/.ods). Raises TableReadError
    (`huzhu.core.tabular.TabularError`) for a file
    that cannot be read, ImportRefused for one that cannot be imported as a whole."""
    source_input = read_settlement_file(path, file_name=file_name)
    result = settlement_import(
        source_input,
        source=source,
        channel=channel,
        acting_user=acting_user,
        batch=batch,
        plans=plans,
        progress=progress,
    )
    return result


def _upload_dir() -> Path:
    return (
        Path(getattr(settings, "HUZHU_UPLOAD_DIR", None) or Path(settings.VAR_DIR) / "uploads")
        / "settlements"
    )


def settlement_batch_upload(
    *, data: bytes, file_name: str, source: str = "bureau", acting_user
) -> SettlementBatch:
    """Keep an uploaded file and queue its import as a background task; returns the batch
    (state pending). The file holds personal data: the task deletes it when done. A file
    out of the reader's bounds (or not a table) is refused here, before it is queued."""
    suffix = Path(file_name).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        raise TableReadError("只支持 CSV 或 Excel（.xlsx/.xls/.ods）文件")
    check_file(data, Path(file_name).name)
    directory = _upload_dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = directory / f"{secrets.token_urlsafe(24)}{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    from .tasks import settlement_import_task

    with transaction.atomic():
        batch = SettlementBatch.objects.create(
            file_name=Path(file_name).name[:255],
            checksum=file_checksum(path),
            source=source,
            channel=BatchChannel.UPLOAD,
            created_by=acting_user,
            upload_path=str(path),
        )
        audit_record(
            actor=acting_user,
            action="settlement.upload",
            obj=batch,
            after={"file_name": batch.file_name, "checksum": batch.checksum, "source": source},
        )
        transaction.on_commit(lambda: settlement_import_task.enqueue(batch.pk))
    return batch


def batch_progress_writer(batch_id: int, *, every_seconds: float = 1.0):
    """A progress callback that stores rows done on the batch row where others can see it.

    Inside the import's transaction the update goes through a second connection on
    PostgreSQL; SQLite has one writer at a time, so there progress is stored only between
    the import's phases (before and after its transaction)."""
    state = {"at": 0.0, "side": None}

    def write(done: int, total: int) -> None:
        now = time.monotonic()
        if done < total and now - state["at"] < every_seconds:
            return
        state["at"] = now
        if not connection.in_atomic_block:
            SettlementBatch.objects.filter(pk=batch_id).update(rows_done=done, rows_total=total)
            return
        if connection.vendor != "postgresql":
            return
        if state["side"] is None:
            state["side"] = connections.create_connection("default")
        with state["side"].cursor() as cursor:
            cursor.execute(
                f"UPDATE {SettlementBatch._meta.db_table} SET rows_done = %s, rows_total = %s "
                "WHERE id = %s",
                [done, total, batch_id],
            )

    def close() -> None:
        if state["side"] is not None:
            state["side"].close()
            state["side"] = None

    write.close = close
    return write


def settlement_batch_run(*, batch_id: int) -> dict:
    """Import an uploaded batch's file (the background task). Returns the JSON summary, or
    {"error": ...} when the file could not be imported (the batch says why)."""
    batch = SettlementBatch.objects.get(pk=batch_id)
    if batch.state not in (BatchState.PENDING, BatchState.RUNNING):
        return batch.counts
    progress = batch_progress_writer(batch.pk)
    path = batch.upload_path
    try:
        result = settlement_import_file(
            path=path,
            source=batch.source,
            channel=batch.channel,
            acting_user=batch.created_by,
            file_name=batch.file_name,
            batch=batch,
            progress=progress,
        )
        return result.summary
    except (TableReadError, ImportRefused) as exc:
        SettlementBatch.objects.filter(pk=batch.pk).update(
            state=BatchState.FAILED, error=exc.message
        )
        return {"error": exc.message}
    except Exception as exc:
        # Whatever went wrong, the batch must not stay pending/running for ever; the page
        # shows a reason without server details (the log has them).
        logger.exception("settlement batch %s failed", batch.pk)
        message = f"导入失败：程序内部错误（{type(exc).__name__}），已记入日志，请联系系统管理员"
        SettlementBatch.objects.filter(pk=batch.pk).update(state=BatchState.FAILED, error=message)
        return {"error": message}
    finally:
        progress.close()
        if path:
            Path(path).unlink(missing_ok=True)
            SettlementBatch.objects.filter(pk=batch.pk).update(upload_path="")


def settlement_import_records(
    *, records: list[dict], name: str, checksum: str, source: str, plans=None
) -> ImportResult:
    """Import a pushed batch (API): `records` carry our or the national field names with
    amounts as yuan strings."""
    source_input = settlement_input_from_records(records, name=name, checksum=checksum)
    return settlement_import(source_input, source=source, channel=BatchChannel.PUSH, plans=plans)
