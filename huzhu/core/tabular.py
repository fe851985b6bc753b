"""Reading the spreadsheets offices actually keep: .xlsx / .xls / .ods / CSV into one shape.

`read_table` finds the header row (title rows and blank rows above it are skipped), maps the
headers people type (Chinese or English, full-width or not) to canonical column names, and
returns every non-blank data row with its spreadsheet row number. Cell values keep their raw
type: an ID number that Excel stored as a number arrives as a float, so the validator can
refuse it as mangled instead of guessing its lost digits.

`RowProblem` is the one shape of a per-row problem shared by every import.
"""

from __future__ import annotations

import csv
import io
import operator
import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "HEADER_SCAN_ROWS",
    "RowProblem",
    "Sheet",
    "TabularError",
    "normalize_header",
    "normalize_text",
    "read_table",
]

# How far down we look for the header (title rows, notes and blank rows come first).
HEADER_SCAN_ROWS = 20

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and password-protected .xlsx)
_SPACES_RE = re.compile(r"[\s\u3000\ufeff\u200b]+")
# Marks people put on headers: "*姓名" (required), "姓名：", "手机号(必填)".
_HEADER_NOISE_RE = re.compile(r"^[*＊]+|[*＊:：]+$|\((必填|选填|可选|required|optional)\)$")


@dataclass(frozen=True)
class RowProblem:
    """One problem of one row: the row and column as the user sees them, a stable code."""

    row: int  # spreadsheet row number (1-based, as Excel shows it)
    column: str  # the header as the user knows it, e.g. "身份证号"
    code: str  # stable code, e.g. "bad_check_digit"; tests assert it
    message: str  # Chinese, names the reason

    def as_line(self) -> str:
        """One line for a command's output: `第5行 身份证号: 身份证号校验位错误`."""
        return f"第{self.row}行 {self.column}: {self.message}"

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "code": self.code, "message": self.message}


@dataclass(frozen=True)
class Sheet:
    """A file read into memory with its header located."""

    file_name: str
    encoding: str | None  # CSV: "utf-8", "utf-8-sig" or "gb18030"; None for workbooks
    header_row: int  # 1-based spreadsheet row number of the header
    columns: list[str]  # canonical column names found (after alias mapping)
    # (1-based row number, canonical column -> raw cell value); blank rows dropped.
    rows: list[tuple[int, dict[str, object]]]


class TabularError(Exception):
    """The file cannot be used. `code` is one of: "empty_file", "unreadable" (not a
    workbook, broken, encrypted, unknown encoding), "no_header", "missing_columns"."""

    def __init__(self, message: str, *, code: str = "unreadable") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def normalize_text(value: str) -> str:
    """Full-width -> half-width (NFKC) and trimmed; inner spaces kept."""
    return unicodedata.normalize("NFKC", value).strip()


def cell_text(raw: object) -> str:
    """A cell as one line of text: NFKC, runs of white space folded to one space, trimmed.

    A whole number read from a numeric cell (a code or phone typed as a number) loses its
    ".0"."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", str(raw))).strip()


def normalize_header(value: object) -> str:
    """The key a header is matched by: NFKC, case-folded, no spaces, '_' or '-', no '*'/':'."""
    if value is None:
        return ""
    text = normalize_text(str(value)).casefold()
    text = _SPACES_RE.sub("", text)
    text = _HEADER_NOISE_RE.sub("", text)
    return text.replace("_", "").replace("-", "")


def read_table(
    data: bytes, file_name: str, *, aliases: dict[str, str], required: set[str]
) -> Sheet:
    """Read a .xlsx/.xls/.ods workbook or a CSV file and locate its header.

    `aliases` maps every accepted header to a canonical column name (keys are normalised
    here, so "身份证号", "ＩＤ_Number " and "id number" all match); the first key given for a
    canonical name is the label used in messages, so list the Chinese header first.
    Raises TabularError for an unreadable file, no recognisable header, or missing
    `required` columns (the message names them).
    """
    lookup: dict[str, str] = {}
    labels: dict[str, str] = {}
    for header, canonical in aliases.items():
        lookup.setdefault(normalize_header(header), canonical)
        labels.setdefault(canonical, header)
    if not data:
        raise TabularError(f"文件“{file_name}”是空的", code="empty_file")

    encoding: str | None = None
    if data.startswith(_ZIP_MAGIC) or data.startswith(_OLE2_MAGIC):
        grids = _workbook_grids(data, file_name)
    else:
        text, encoding = _decode(data, file_name)
        grids = [_csv_grid(text)]

    best: tuple[int, int, list[object]] | None = None  # (score, grid index, header index)
    for g, grid in enumerate(grids):
        found = _find_header(grid, lookup)
        if found is not None and (best is None or found[0] > best[0]):
            best = (found[0], g, found[1])
        if found is not None and required <= _canonicals(grid[found[1]], lookup):
            break  # the first sheet with a complete header wins
    if best is None:
        wanted = "、".join(labels.get(c, c) for c in sorted(required)) or "表头"
        raise TabularError(
            f"在文件“{file_name}”的前{HEADER_SCAN_ROWS}行中找不到表头（应包含：{wanted}）",
            code="no_header",
        )
    _score, g, header_index = best
    grid = grids[g]
    header = grid[header_index]

    positions: dict[str, int] = {}
    for i, cell in enumerate(header):
        canonical = lookup.get(normalize_header(cell))
        if canonical is not None and canonical not in positions:  # first such column wins
            positions[canonical] = i
    missing = [c for c in required if c not in positions]
    if missing:
        names = "、".join(labels.get(c, c) for c in sorted(missing, key=list(labels).index))
        raise TabularError(
            f"文件“{file_name}”第{header_index + 1}行的表头缺少必需的列：{names}",
            code="missing_columns",
        )

    columns = list(positions)
    width = max(positions.values()) + 1
    pick = operator.itemgetter(*positions.values())
    if len(columns) == 1:
        single = pick
        pick = lambda line: (single(line),)  # noqa: E731 - itemgetter of one index is not a tuple
    rows: list[tuple[int, dict[str, object]]] = []
    for index in range(header_index + 1, len(grid)):
        line = grid[index]
        if len(line) < width:  # CSV rows can be short
            line = [*line, *([None] * (width - len(line)))]
        values = pick(line)
        if not all(values):  # some cell is None, "", 0: normalise blanks, drop blank rows
            values = tuple(
                None if (v is None or (v.__class__ is str and not v.strip())) else v for v in values
            )
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


def _canonicals(line: list[object], lookup: dict[str, str]) -> set[str]:
    return {c for c in (lookup.get(normalize_header(v)) for v in line if v) if c}


def _find_header(grid: list[list[object]], lookup: dict[str, str]) -> tuple[int, int] | None:
    """(number of known columns, row index) of the best header among the first rows."""
    best: tuple[int, int] | None = None
    for index, line in enumerate(grid[:HEADER_SCAN_ROWS]):
        score = len(_canonicals(line, lookup))
        if score and (best is None or score > best[0]):
            best = (score, index)
    return best


def _workbook_grids(data: bytes, file_name: str) -> list[list[list[object]]]:
    """Every visible worksheet as a list of rows (spreadsheet row 1 is index 0)."""
    import python_calamine

    try:
        workbook = python_calamine.load_workbook(io.BytesIO(data))
        grids = []
        for index, meta in enumerate(workbook.sheets_metadata):
            if meta.visible != python_calamine.SheetVisibleEnum.Visible:
                continue
            if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
                continue
            # Without skipping the empty area the grid starts at spreadsheet row 1.
            grids.append(workbook.get_sheet_by_index(index).to_python(skip_empty_area=False))
    except Exception as exc:  # calamine raises several types for broken/encrypted files
        raise TabularError(
            f"无法读取文件“{file_name}”：不是有效的Excel文件，或文件已加密/损坏（{exc}）",
            code="unreadable",
        ) from exc
    if not grids:
        raise TabularError(f"文件“{file_name}”中没有可读的工作表", code="unreadable")
    return grids


def _decode(data: bytes, file_name: str) -> tuple[str, str]:
    """UTF-8 (BOM stripped) first, then GB18030 (a superset of GBK)."""
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data[3:].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError:
            pass
    else:
        try:
            return data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            pass
    if b"\x00" in data[:4096]:
        raise TabularError(
            f"无法读取文件“{file_name}”：不是Excel文件，也不是UTF-8或GBK编码的CSV文件",
            code="unreadable",
        )
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise TabularError(
            f"无法读取文件“{file_name}”：编码既不是UTF-8也不是GBK/GB18030",
            code="unreadable",
        ) from exc


def _csv_grid(text: str) -> list[list[object]]:
    sample = text[:8192]
    first_lines = sample.splitlines()[:HEADER_SCAN_ROWS]
    delimiter = ","
    counts = {d: sum(line.count(d) for line in first_lines) for d in (",", "\t", ";")}
    if counts[","] == 0:
        delimiter = max(counts, key=counts.get) if max(counts.values()) else ","
    try:
        return [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    except csv.Error as exc:
        raise TabularError(f"CSV文件格式错误：{exc}", code="unreadable") from exc
