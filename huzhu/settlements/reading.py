"""Settlement input as one polars frame of text columns: from a file, or from a push payload.

Files: CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or a workbook (.xlsx/.xls/.ods) through the
one table reader (`huzhu.core.tabular.read_frame`: bounds checked before parsing, workbooks
parsed in a child process, header found under title rows), so amounts are never floats and
ID numbers never lose digits. Field names may be ours or the national platform's
(`huzhu.plans.rules.records`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from huzhu.core.tabular import TabularError, read_frame
from huzhu.plans.rules.records import SETTLEMENT_HEADERS

# The name the settlement services and pages use for "this file cannot be read".
TableReadError = TabularError

__all__ = [
    "SettlementInput",
    "TableReadError",
    "read_settlement_file",
    "settlement_input_from_records",
]


@dataclass
class SettlementInput:
    """One input of the import. The import drops `frame` once it has parsed it (memory)."""

    frame: pl.DataFrame | None  # every column String
    file_name: str
    checksum: str  # SHA-256 of the bytes (file) or of the canonical JSON (push)
    encoding: str
    # The row number people see for the first record: in a file the line after the header
    # (2 unless title rows come first; counted as a spreadsheet or an editor counts), 1 for
    # a pushed list of records.
    first_row: int = 1


def file_checksum(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_settlement_file(path: str | Path, *, file_name: str = "") -> SettlementInput:
    """Read a settlement file; raises TabularError (with a Chinese message naming
    `file_name`, never the server path) if it cannot."""
    file_name = file_name or Path(path).name
    table = read_frame(path, file_name=file_name, aliases=SETTLEMENT_HEADERS)
    return SettlementInput(
        frame=table.frame,
        file_name=file_name,
        checksum=file_checksum(path),
        encoding=table.encoding,
        first_row=table.header_row + 1,
    )


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def settlement_input_from_records(
    records: Iterable[Mapping[str, object]], *, name: str, checksum: str
) -> SettlementInput:
    """A pushed batch (a list of JSON objects with our or the national field names)."""
    records = list(records)
    columns: dict[str, None] = {}
    for r in records:
        for key in r:
            columns.setdefault(str(key), None)
    data = {c: [_text(r.get(c)) for r in records] for c in columns}
    frame = pl.DataFrame(data, schema={c: pl.String for c in columns})
    return SettlementInput(frame=frame, file_name=name, checksum=checksum, encoding="json")
