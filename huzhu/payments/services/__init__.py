"""Payment batch steps: create, export, mark sent, import the bank's return file, cancel.

Each step is one atomic function that checks the batch's state under a row lock, writes the
change, and records an audit event with the batch's totals (and the file checksum when a
file is involved). A refused step raises `PaymentError` with a stable `.code` and changes
nothing.

`acting_user=None` is the platform (the `huzhu payment-batch` commands); a person must be
federation finance (or an administrator).

Lock order: payment batch row → claim rows (by id) → adjustment items (by id). Creating a
batch locks the candidate claims FOR UPDATE and then re-reads which of them are still free,
so two finance users (or threads) creating batches from the same claims at the same moment
each get a disjoint set; the partial unique constraint on `PaymentRowClaim` backs this up
in the database itself.
"""

from .create import CreateResult, LeftOut, payment_batch_create
from .export import (
    CONTENT_TYPES,
    ExportedFile,
    batch_bank_rows,
    payment_batch_cancel,
    payment_batch_export,
    payment_batch_mark_sent,
)
from .returns import ReturnResult, payment_batch_import_return

__all__ = [
    "CONTENT_TYPES",
    "CreateResult",
    "ExportedFile",
    "LeftOut",
    "ReturnResult",
    "batch_bank_rows",
    "payment_batch_cancel",
    "payment_batch_create",
    "payment_batch_export",
    "payment_batch_import_return",
    "payment_batch_mark_sent",
]
