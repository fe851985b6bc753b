"""Reading tabular input files (CSV in UTF-8 / UTF-8 BOM / GBK, or .xlsx) as text columns.

Every cell comes back as text (or null): amounts are never read as floats, ID numbers
never lose digits here (a number Excel already mangled is caught by the ID check).
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path

import polars as pl

__all__ = ["TableReadError", "Table", "read_table"]


class TableReadError(ValueError):
    code = "unreadable_file"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Table:
    frame: pl.DataFrame  # every column String
    encoding: str  # "utf-8", "utf-8-sig", "gb18030" or "xlsx"
    path: str


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))  # a whole number typed in a numeric cell (phone, amount)
    return str(value)  # floats go through str(), i.e. Decimal(str(x)) semantics downstream


def _read_xlsx(path: str) -> pl.DataFrame:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(path)
        rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as e:  # calamine raises its own error types for broken files
        raise TableReadError(f"无法读取Excel文件 {path}：{e}") from None
    rows = [r for r in rows if any(c not in (None, "") for c in r)]
    if not rows:
        raise TableReadError(f"文件为空：{path}")
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    width = len(header)
    columns: dict[str, list[str | None]] = {h: [] for h in header}
    for r in rows[1:]:
        cells = list(r) + [None] * (width - len(r))
        for h, value in zip(header, cells[:width], strict=True):
            columns[h].append(_cell_text(value))
    return pl.DataFrame(columns, schema={h: pl.String for h in header})


def _sniff(path: str) -> tuple[str, list[str]]:
    """Encoding guess from the first 64 KiB, and the header row."""
    with open(path, "rb") as fh:
        head = fh.read(65536)
    if not head.strip():
        raise TableReadError(f"文件为空：{path}")
    bom = head.startswith(b"\xef\xbb\xbf")
    body = head[3:] if bom else head
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
        encoding = "utf-8-sig" if bom else "utf-8"
    except UnicodeDecodeError:
        text = codecs.getincrementaldecoder("gb18030")(errors="replace").decode(body, final=False)
        encoding = "gb18030"
    first = text.splitlines()[0] if text.splitlines() else ""
    header = next(csv.reader([first]), [])
    return encoding, [h.strip() for h in header]


def read_table(
    path: str | Path, *, columns: Callable[[list[str]], list[str]] | None = None
) -> Table:
    """Read a CSV or .xlsx file into text columns; raises TableReadError if it cannot.

    `columns(header)` may name the columns to keep (the rest are not parsed): the bulk
    path reads only what it uses.
    """
    path = str(path)
    p = Path(path)
    if not p.is_file():
        raise TableReadError(f"找不到文件：{path}")
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        frame = _read_xlsx(path)
        if columns is not None:
            frame = frame.select(columns(frame.columns))
        return Table(frame, "xlsx", path)
    if p.suffix.lower() == ".xls":
        raise TableReadError(f"不支持旧版 .xls 文件，请另存为 .xlsx 或 CSV：{path}")
    try:
        encoding, header = _sniff(path)
    except OSError as e:
        raise TableReadError(f"无法读取文件 {path}：{e}") from None
    wanted = columns(header) if columns is not None else None
    source: object = path
    if encoding == "gb18030":
        try:
            data = p.read_bytes().decode("gb18030").encode("utf-8")
        except UnicodeDecodeError:
            raise TableReadError(f"无法识别文件编码（不是UTF-8或GBK/GB18030）：{path}") from None
        source = io.BytesIO(data)
    try:
        frame = pl.read_csv(source, infer_schema=False, columns=wanted)
    except pl.exceptions.ComputeError as e:
        if encoding != "gb18030" and "utf-8" in str(e).lower():
            # Valid UTF-8 at the top but not further down: a GBK file after all.
            try:
                data = p.read_bytes().decode("gb18030").encode("utf-8")
            except UnicodeDecodeError:
                raise TableReadError(
                    f"无法识别文件编码（不是UTF-8或GBK/GB18030）：{path}"
                ) from None
            encoding = "gb18030"
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False, columns=wanted)
        else:
            raise TableReadError(f"无法解析CSV文件 {path}：{e}") from None
    except Exception as e:  # polars' NoDataError, ShapeError for malformed CSV
        raise TableReadError(f"无法解析CSV文件 {path}：{e}") from None
    frame = frame.rename({c: c.strip().lstrip("\ufeff") for c in frame.columns})
    return Table(frame, encoding, path)
