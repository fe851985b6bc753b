"""The one table reader of every import: checks first, then parses.

Two shapes of the same reading (same kinds of file, same header search under title rows,
same encodings, same errors):

- `read_table(data, file_name, aliases=..., required=...)` -> `Sheet`: rows of raw cells
  for the row-by-row imports (enrollment, unions, hospitals, bank returns). The parse runs
  in a child process with a memory limit (`isolation`).
- `read_frame(path, ...)` -> `Table`: a polars frame of text columns for the bulk paths
  (settlement import, simulate). Workbooks are parsed in the child; CSV is read by polars
  in-process, after checks that bound what it can allocate (line length, columns, cells).

Nothing here imports Django: `huzhu simulate` runs without the project loaded.
"""

from __future__ import annotations

import codecs
import csv
import io
import mmap
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import parse
from .base import HEADER_SCAN_ROWS, Sheet, TabularError
from .checks import MB, Limits, check_line_length, check_workbook_zip, file_kind
from .grids import sniff_delimiter
from .isolation import run_isolated
from .sheet import unnamed_data_error

__all__ = [
    "FRAME_LIMITS",
    "ROW_LIMITS",
    "Table",
    "check_file",
    "read_frame",
    "read_file_bytes",
    "read_grids",
    "read_table",
]

# Row-by-row imports hold every cell as a Python object: smaller files.
ROW_LIMITS = Limits(max_bytes=50 * MB, max_cells=5_000_000)
# Bulk imports: a bureau export of a million rows (170 MB, 16 columns) passes.
FRAME_LIMITS = Limits(max_cells=40_000_000)


def _checked_kind(source, head: bytes, size: int, file_name: str, limits: Limits) -> str:
    """The file's kind ("xlsx", "ods", "xls" or "text") once its bounds are checked."""
    kind = file_kind(head, file_name, size, limits)
    if kind == "zip":
        return check_workbook_zip(source, file_name, limits)
    return kind


def read_file_bytes(path: str | Path, *, limits: Limits = ROW_LIMITS) -> bytes:
    """A command's input file for `read_table`, its size checked before it is read."""
    name = Path(path).name
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            if limits.max_bytes is not None and size > limits.max_bytes:
                file_kind(b"x", name, size, limits)  # raises the size refusal
            return fh.read()
    except FileNotFoundError:
        raise TabularError(f"找不到文件“{name}”", code="unreadable") from None
    except OSError as exc:
        raise TabularError(
            f"无法读取文件“{name}”：{exc.strerror or '读取失败'}", code="unreadable"
        ) from None


def check_file(data: bytes, file_name: str, *, limits: Limits = FRAME_LIMITS) -> str:
    """Only the checks (no parse): the kind of a file about to be kept for a background
    import, so that an upload out of bounds is refused on the page at once."""
    kind = _checked_kind(data, data[:16], len(data), file_name, limits)
    if kind == "text":
        check_line_length(data, file_name, limits)
    return kind


def read_grids(
    data: bytes, file_name: str, *, limits: Limits = ROW_LIMITS
) -> tuple[list[list[list[object]]], str | None]:
    """(grids, encoding): every visible worksheet (or the CSV text) as rows of raw cells,
    parsed in the child. For a caller that tries several header layouts on one file."""
    kind = _checked_kind(data, data[:16], len(data), file_name, limits)
    if kind == "text":
        check_line_length(data, file_name, limits)
    payload = {"source": data, "file_name": file_name, "kind": kind, "limits": limits}
    return run_isolated("grids", payload, file_name=file_name)


def read_table(
    data: bytes,
    file_name: str,
    *,
    aliases: dict[str, str],
    required: set[str],
    limits: Limits = ROW_LIMITS,
) -> Sheet:
    """Read a .xlsx/.xls/.ods workbook or a CSV file and locate its header.

    `aliases` maps every accepted header to a canonical column name (keys are normalised,
    so "身份证号", "ＩＤ_Number " and "id number" all match); the first key given for a
    canonical name is the label used in messages, so list the Chinese header first.
    Raises TabularError for a file out of bounds or unreadable, no recognisable header,
    missing `required` columns (the message names them), or data under a blank header.
    """
    kind = _checked_kind(data, data[:16], len(data), file_name, limits)
    if kind == "text":
        check_line_length(data, file_name, limits)
    payload = {
        "source": data,
        "file_name": file_name,
        "kind": kind,
        "aliases": aliases,
        "required": set(required),
        "limits": limits,
    }
    return run_isolated("sheet", payload, file_name=file_name)


@dataclass(frozen=True)
class Table:
    frame: object  # polars DataFrame, every column String
    encoding: str  # "utf-8", "utf-8-sig", "gb18030" or "xlsx"/"xls"/"ods"
    path: str  # as given (a command shows it back to the person who typed it)
    file_name: str  # what messages name
    header_row: int  # 1-based line/row of the header


def read_frame(
    path: str | Path,
    *,
    file_name: str = "",
    aliases: dict[str, str] | None = None,
    columns: Callable[[list[str]], list[str]] | None = None,
    limits: Limits = FRAME_LIMITS,
) -> Table:
    """Read a CSV (UTF-8 / BOM / GBK) or workbook file into text columns.

    The header is the row among the first ones naming most `aliases` keys (title rows
    above it are skipped); without `aliases`, the first non-blank row. `columns(header)`
    may name the columns to keep (the rest are not parsed). Raises TabularError.
    """
    path = str(path)
    file_name = file_name or Path(path).name
    try:
        size = os.stat(path).st_size
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
    except FileNotFoundError:
        raise TabularError(f"找不到文件“{file_name}”", code="unreadable") from None
    except OSError as exc:
        raise TabularError(
            f"无法读取文件“{file_name}”：{exc.strerror or '读取失败'}", code="unreadable"
        ) from None
    kind = _checked_kind(path, head, size, file_name, limits)
    if kind != "text":
        payload = {
            "source": path,
            "file_name": file_name,
            "kind": kind,
            "aliases": aliases,
            "limits": limits,
        }
        header_row, names, data = run_isolated("text_columns", payload, file_name=file_name)
        return _workbook_table(header_row, names, data, kind, path, file_name, columns)
    return _csv_table(path, head, size, file_name, aliases, columns, limits)


def _workbook_table(header_row, names, data, kind, path, file_name, columns) -> Table:
    import polars as pl

    named = [n for n in names if not n.startswith("__unnamed_")]
    wanted = columns(named) if columns is not None else named
    frame = pl.DataFrame({n: data[n] for n in wanted}, schema={n: pl.String for n in wanted})
    return Table(frame, kind, path, file_name, header_row)


def _sniff(head: bytes, file_name: str) -> tuple[str, str]:
    """(encoding guess, decoded sample) from the first 64 KiB."""
    # Binary (or UTF-16) files are full of NUL bytes; a stray NUL in one cell of a text file
    # is that row's problem (a named row error), not the file's.
    if head[:4096].count(b"\x00") > 8:
        raise TabularError(
            f"无法读取文件“{file_name}”：不是Excel文件，也不是UTF-8或GBK编码的CSV文件",
            code="unreadable",
        )
    bom = head.startswith(b"\xef\xbb\xbf")
    body = head[3:] if bom else head
    try:
        text = codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
        return ("utf-8-sig" if bom else "utf-8"), text
    except UnicodeDecodeError:
        decoder = codecs.getincrementaldecoder("gb18030")(errors="replace")
        return "gb18030", decoder.decode(body, final=False)


def _gb18030_source(view, file_name: str) -> io.BytesIO:
    try:
        return io.BytesIO(bytes(view).decode("gb18030").encode("utf-8"))
    except UnicodeDecodeError as exc:
        line = bytes(view[: exc.start]).count(b"\n") + 1
        raise TabularError(
            f"无法读取文件“{file_name}”：编码既不是UTF-8也不是GBK/GB18030（第{line}行有无法识别的字节）",
            code="unreadable",
        ) from None


def _csv_table(path, head, size, file_name, aliases, columns, limits: Limits) -> Table:
    import polars as pl

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
        check_line_length(view, file_name, limits)  # before anything splits it into cells
    encoding, sample = _sniff(head, file_name)
    delimiter = sniff_delimiter(sample[:8192])
    # Lines as polars counts them (skip_rows below): split at "\n" only.
    lines = [line.removesuffix("\r") for line in sample.split("\n")[:HEADER_SCAN_ROWS]]
    try:
        first_rows = list(csv.reader(lines, delimiter=delimiter))
    except csv.Error:
        first_rows = []
    header_index = parse._header_index(first_rows, aliases)
    if header_index is None:
        raise TabularError(f"在文件“{file_name}”的前几行中找不到表头", code="no_header")
    header = first_rows[header_index]
    if len(header) > limits.max_columns:
        raise TabularError(
            f"文件“{file_name}”的表头有{len(header)}列，超过上限{limits.max_columns}列",
            code="too_large",
        )
    names = parse.frame_names(header)
    named = [n for n in names if not n.startswith("__unnamed_")]
    wanted = set(columns(named) if columns is not None else named)
    unnamed = [names[i] for i in parse.unnamed_positions(header)]
    keep = [i for i, n in enumerate(names) if n in wanted or n in unnamed]

    source: object = path
    if encoding == "gb18030":
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            source = _gb18030_source(view, file_name)
    options = {
        "has_header": False,
        "skip_rows": header_index + 1,
        "new_columns": names,
        "columns": keep,
        "infer_schema": False,
        "separator": delimiter,
    }
    # Memory grows with rows x parsed columns: count the rows first when it could matter.
    if len(keep) * (size // 2 + 1) > limits.max_cells:
        rows = _count_rows(source, options, file_name)
        if rows * len(keep) > limits.max_cells:
            raise TabularError(
                f"文件“{file_name}”有{rows}行×{len(keep)}列，超过上限{limits.max_cells}个单元格；"
                "请拆分文件",
                code="too_large",
            )
    try:
        frame = pl.read_csv(source, **options)
    except pl.exceptions.ComputeError as exc:
        if encoding == "gb18030" or "utf-8" not in str(exc).lower():
            raise _csv_error(exc, path, file_name) from None
        # Valid UTF-8 at the top but not further down: a GBK file after all.
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as view:
            source = _gb18030_source(view, file_name)
        encoding = "gb18030"
        try:
            frame = pl.read_csv(source, **options)
        except Exception as exc2:
            raise _csv_error(exc2, path, file_name) from None
    except Exception as exc:  # polars' NoDataError, ShapeError for malformed CSV
        raise _csv_error(exc, path, file_name) from None
    for name in unnamed:
        if name in frame.columns:
            filled = frame.get_column(name).is_not_null().arg_true()
            if filled.len():
                row = header_index + 2 + filled[0]
                raise unnamed_data_error(file_name, row, names.index(name))
    if unnamed:
        frame = frame.drop([n for n in unnamed if n in frame.columns])
    return Table(frame, encoding, str(path), file_name, header_index + 1)


def _count_rows(source, options: dict, file_name: str) -> int:
    import polars as pl

    if isinstance(source, io.BytesIO):
        source.seek(0)
    try:
        count = (
            pl.scan_csv(
                source,
                has_header=False,
                skip_rows=options["skip_rows"],
                separator=options["separator"],
                schema={"c": pl.String},
                truncate_ragged_lines=True,
            )
            .select(pl.len())
            .collect()
            .item()
        )
    except Exception as exc:
        raise _csv_error(exc, "", file_name) from None
    finally:
        if isinstance(source, io.BytesIO):
            source.seek(0)
    return count


def _csv_error(exc: Exception, path: str, file_name: str) -> TabularError:
    """polars' reason, first line only, without the server path."""
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if path:
        reason = reason.replace(str(path), file_name)
    return TabularError(f"无法解析CSV文件“{file_name}”：{reason}", code="unreadable")
