"""Settlement imports: the entry points the command, the upload page, the push API and the
demo call. The work itself is `importing.settlement_import`.

    settlement_import_file(path=..., source=..., acting_user=None, progress=None)
    settlement_batch_upload(data=..., file_name=..., source=..., acting_user=...)  -> batch
    settlement_batch_run(batch_id=...)          the background task's body
    settlement_import_records(records=..., name=..., checksum=..., source=...)  push API
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import DatabaseError, connection, connections, transaction

from huzhu.audit.services import audit_record
from huzhu.core.tabular import check_file
from huzhu.core.uploads import UploadMissing, upload_local_copy, upload_remove, upload_save

from .importing import ImportRefused, ImportResult, settlement_import
from .models import BatchChannel, BatchState, SettlementBatch
from .reading import (
    TableReadError,
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
    # In the private storage, so whichever worker runs the task can read it.
    name = upload_save(data, folder="settlements", suffix=suffix)
    from .tasks import settlement_import_task

    with transaction.atomic():
        batch = SettlementBatch.objects.create(
            file_name=Path(file_name).name[:255],
            checksum=hashlib.sha256(data).hexdigest(),  # as file_checksum
            source=source,
            channel=BatchChannel.UPLOAD,
            created_by=acting_user,
            upload_path=name,  # a storage name (huzhu.core.uploads)
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


@contextmanager
def _batch_run_lock(batch_id: int) -> Iterator[None]:
    """One runner of a batch at a time, across workers (PostgreSQL: a session advisory lock,
    released when the runner's connection ends, killed process included). A job re-run after
    its worker died, or started twice, waits here for the other run and then finds the batch
    done. SQLite has one writer, so there is nothing to hold."""
    if connection.vendor != "postgresql":
        yield
        return
    key = ("huzhu.settlement_batch", batch_id)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtext(%s), %s::int)", key)
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(hashtext(%s), %s::int)", key)
        except DatabaseError:  # the connection is gone, and the lock with it
            logger.warning("settlement batch %s: lock not released (connection lost)", batch_id)


def settlement_batch_run(*, batch_id: int) -> dict:
    """Import an uploaded batch's file (the background task). Returns the JSON summary, or
    {"error": ...} when the file could not be imported (the batch says why).

    Safe to run again (a worker killed mid-import, the job re-queued): the import is one
    transaction, so a killed run left nothing; a batch already done or failed is not
    imported again (its summary is returned, a file left behind is deleted)."""
    with _batch_run_lock(batch_id):
        batch = SettlementBatch.objects.get(pk=batch_id)
        if batch.state not in (BatchState.PENDING, BatchState.RUNNING):
            if batch.upload_path:
                upload_remove(batch.upload_path)
                SettlementBatch.objects.filter(pk=batch.pk).update(upload_path="")
            return batch.counts
        return _batch_import(batch)


def _batch_import(batch: SettlementBatch) -> dict:
    progress = batch_progress_writer(batch.pk)
    name = batch.upload_path
    try:
        # The table reader wants a local file: with an object store, a private temporary copy.
        with upload_local_copy(name) as path:
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
    except UploadMissing:
        message = "上传的文件已不在存储中（可能已被清理），请重新上传"
        SettlementBatch.objects.filter(pk=batch.pk).update(state=BatchState.FAILED, error=message)
        return {"error": message}
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
        if name:
            upload_remove(name)
            SettlementBatch.objects.filter(pk=batch.pk).update(upload_path="")


def settlement_import_records(
    *, records: list[dict], name: str, checksum: str, source: str, plans=None
) -> ImportResult:
    """Import a pushed batch (API): `records` carry our or the national field names with
    amounts as yuan strings."""
    source_input = settlement_input_from_records(records, name=name, checksum=checksum)
    return settlement_import(source_input, source=source, channel=BatchChannel.PUSH, plans=plans)
