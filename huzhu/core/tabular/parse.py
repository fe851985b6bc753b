"""What the parsing child runs (also callable in-process on a checked file)."""

from __future__ import annotations

from .base import HEADER_SCAN_ROWS, Sheet, TabularError
from .checks import DEFAULT_LIMITS, Limits
from .grids import cell_as_text, csv_grid, decode_text, workbook_grids
from .sheet import Lookup, find_header, sheet_from_grids, unnamed_data_error

__all__ = ["OPS", "grids", "sheet", "text_columns"]


def _data(source) -> bytes:
    if isinstance(source, bytes):
        return source
    with open(source, "rb") as fh:
        return fh.read()


def grids(
    *, source, file_name: str, kind: str, limits: Limits = DEFAULT_LIMITS
) -> tuple[list[list[list[object]]], str | None]:
    """(grids, encoding): every visible worksheet, or the CSV text as one grid."""
    if kind == "text":
        text, encoding = decode_text(_data(source), file_name)
        return [csv_grid(text, file_name, limits)], encoding
    return workbook_grids(source, file_name, limits), None


def sheet(
    *,
    source,
    file_name: str,
    kind: str,
    aliases: dict[str, str],
    required: set[str],
    limits: Limits = DEFAULT_LIMITS,
) -> Sheet:
    found, encoding = grids(source=source, file_name=file_name, kind=kind, limits=limits)
    return sheet_from_grids(found, file_name, encoding, aliases=aliases, required=required)


def text_columns(
    *, source, file_name: str, kind: str, aliases: dict[str, str] | None, limits: Limits
) -> tuple[int, list[str], dict[str, list[str | None]]]:
    """A workbook's first sheet holding the header, as text columns for a polars frame:
    (1-based header row, header names in file order, name -> cells as text)."""
    found, _ = grids(source=source, file_name=file_name, kind=kind, limits=limits)
    grid, header_index = None, None
    for candidate in found:
        index = _header_index(candidate, aliases)
        if index is not None:
            grid, header_index = candidate, index
            break
    if grid is None:
        raise TabularError(f"文件“{file_name}”中找不到表头", code="no_header")
    names = frame_names(grid[header_index])
    unnamed = unnamed_positions(grid[header_index])
    columns: dict[str, list[str | None]] = {name: [] for name in names}
    width = len(names)
    targets = [columns[name] for name in names]
    for row_index in range(header_index + 1, len(grid)):
        line = grid[row_index]
        if all(c is None or c == "" for c in line):
            continue
        for i in unnamed:
            if i < len(line) and line[i] not in (None, ""):
                raise unnamed_data_error(file_name, row_index + 1, i)
        if len(line) < width:
            line = [*line, *([None] * (width - len(line)))]
        for target, value in zip(targets, line, strict=False):
            target.append(cell_as_text(value))
    return header_index + 1, names, columns


def _header_index(grid: list[list[object]], aliases: dict[str, str] | None) -> int | None:
    """The row naming most `aliases` keys; else (no known name at all: the caller's column
    check then names what is missing) the first non-blank row."""
    if aliases:
        found = find_header(grid, Lookup(aliases))
        if found is not None:
            return found[1]
    for index, line in enumerate(grid[:HEADER_SCAN_ROWS]):
        if any(c not in (None, "") for c in line):
            return index
    return None


def frame_names(header: list[object]) -> list[str]:
    """Column names for a frame from a header row: trimmed; a blank one `__unnamed_<n>`, a
    repeated one `<name>_duplicated_<k>` (the first of equal names keeps it)."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for i, cell in enumerate(header):
        name = str(cell).strip().lstrip("\ufeff").strip() if cell is not None else ""
        if not name:
            name = f"__unnamed_{i + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name}_duplicated_{seen[name] - 1}"
        seen.setdefault(name, 0)
        names.append(name)
    return names


def unnamed_positions(header: list[object]) -> list[int]:
    """Blank header cells between named ones (trailing blank columns are ignored)."""
    blank = [c is None or not str(c).strip() for c in header]
    last = max((i for i, b in enumerate(blank) if not b), default=-1)
    return [i for i, b in enumerate(blank) if b and i < last]


OPS = {"grids": grids, "sheet": sheet, "text_columns": text_columns}
