"""Finding the header in a grid (title rows and blank rows above it are skipped) and mapping
the headers people type to canonical names. Pure functions over grids, shared by the row
reader (`Sheet`) and the bulk reader (polars frame).
"""

from __future__ import annotations

import operator

from .base import HEADER_SCAN_ROWS, Sheet, TabularError, column_letter, normalize_header

__all__ = ["Lookup", "find_header", "sheet_from_grids", "unnamed_data_error"]


class Lookup:
    """Accepted headers -> canonical names; the first header given for a name is its label."""

    def __init__(self, aliases: dict[str, str]) -> None:
        self.canonical: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        for header, canonical in aliases.items():
            self.canonical.setdefault(normalize_header(header), canonical)
            self.labels.setdefault(canonical, header)

    def get(self, cell: object) -> str | None:
        return self.canonical.get(normalize_header(cell)) if cell not in (None, "") else None

    def names(self, line: list[object]) -> set[str]:
        return {c for c in map(self.get, line) if c}

    def label(self, canonical: str) -> str:
        return self.labels.get(canonical, canonical)


def find_header(grid: list[list[object]], lookup: Lookup) -> tuple[int, int] | None:
    """(number of known columns, row index) of the best header among the first rows."""
    best: tuple[int, int] | None = None
    for index, line in enumerate(grid[:HEADER_SCAN_ROWS]):
        score = len(lookup.names(line))
        if score and (best is None or score > best[0]):
            best = (score, index)
    return best


def _blank(value: object) -> bool:
    return value is None or (value.__class__ is str and not value.strip())


def unnamed_data_error(file_name: str, row: int, column: int) -> TabularError:
    return TabularError(
        f"文件“{file_name}”第{row}行{column_letter(column)}列有内容，但该列没有表头；"
        "请补上列名，或删除该列后重新导入",
        code="unnamed_column",
    )


def sheet_from_grids(
    grids: list[list[list[object]]],
    file_name: str,
    encoding: str | None,
    *,
    aliases: dict[str, str],
    required: set[str],
) -> Sheet:
    """Locate the header (the first sheet with a complete header wins) and return every
    non-blank data row. Raises TabularError for no header, missing required columns, or
    data in a column whose header is blank."""
    lookup = Lookup(aliases)
    best: tuple[int, int, int] | None = None  # (score, grid index, header index)
    for g, grid in enumerate(grids):
        found = find_header(grid, lookup)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], g, found[1])
        if found is not None and required <= lookup.names(grid[found[1]]):
            break
    if best is None:
        wanted = "、".join(lookup.label(c) for c in sorted(required)) or "表头"
        raise TabularError(
            f"在文件“{file_name}”的前{HEADER_SCAN_ROWS}行中找不到表头（应包含：{wanted}）",
            code="no_header",
        )
    _score, g, header_index = best
    grid = grids[g]
    header = grid[header_index]

    positions: dict[str, int] = {}
    for i, cell in enumerate(header):
        canonical = lookup.get(cell)
        if canonical is not None and canonical not in positions:  # first such column wins
            positions[canonical] = i
    missing = [c for c in required if c not in positions]
    if missing:
        order = list(lookup.labels)
        names = "、".join(lookup.label(c) for c in sorted(missing, key=order.index))
        raise TabularError(
            f"文件“{file_name}”第{header_index + 1}行的表头缺少必需的列：{names}",
            code="missing_columns",
        )
    # Data under a blank header cannot be named: refuse rather than silently drop it.
    last_named = max((i for i, cell in enumerate(header) if not _blank(cell)), default=-1)
    unnamed = [i for i, cell in enumerate(header) if _blank(cell) and i < last_named]

    columns = list(positions)
    width = max(positions.values()) + 1
    pick = operator.itemgetter(*positions.values())
    if len(columns) == 1:
        single = pick
        pick = lambda line: (single(line),)  # noqa: E731 - itemgetter of one index is not a tuple
    rows: list[tuple[int, dict[str, object]]] = []
    for index in range(header_index + 1, len(grid)):
        line = grid[index]
        for i in unnamed:
            if i < len(line) and not _blank(line[i]):
                raise unnamed_data_error(file_name, index + 1, i)
        if len(line) < width:  # CSV rows can be short
            line = [*line, *([None] * (width - len(line)))]
        values = pick(line)
        if not all(values):  # some cell is None, "", 0: normalise blanks, drop blank rows
            values = tuple(None if _blank(v) else v for v in values)
            if values.count(None) == len(values):
                continue  # a blank row
        rows.append((index + 1, dict(zip(columns, values, strict=True))))
    return Sheet(
        file_name=file_name,
        encoding=encoding,
        header_row=header_index + 1,
        columns=columns,
        rows=rows,
    )
