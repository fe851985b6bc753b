"""The shapes every reader shares: the error, a row's problem, a located sheet, header keys.

Pure Python (no Django, no polars): `huzhu simulate` and the parsing child import it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = [
    "HEADER_SCAN_ROWS",
    "RowProblem",
    "Sheet",
    "TabularError",
    "cell_text",
    "normalize_header",
    "normalize_text",
]

# How far down we look for the header (title rows, notes and blank rows come first).
HEADER_SCAN_ROWS = 20

_SPACES_RE = re.compile(r"[\s\u3000\ufeff\u200b]+")
# Marks people put on headers: "*姓名" (required), "姓名：", "手机号(必填)".
_HEADER_NOISE_RE = re.compile(r"^[*＊]+|[*＊:：]+$|\((必填|选填|可选|required|optional)\)$")


class TabularError(Exception):
    """The file cannot be used; `message` (Chinese) says why and never names a server path.

    `code` is one of: "empty_file", "unreadable" (not a table, broken, encrypted, unknown
    encoding), "too_large" (out of the reader's bounds: size, columns, cells, line length,
    zip entries, or the parse ran out of its memory), "no_header", "missing_columns",
    "unnamed_column" (data under a blank header), "duplicate_column"."""

    def __init__(self, message: str, *, code: str = "unreadable") -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __reduce__(self):  # crosses the parsing child's pipe
        return (_tabular_error, (self.message, self.code))


def _tabular_error(message: str, code: str) -> TabularError:
    return TabularError(message, code=code)


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


def column_letter(index: int) -> str:
    """0 -> "A", 25 -> "Z", 26 -> "AA": the column as a spreadsheet shows it."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters
