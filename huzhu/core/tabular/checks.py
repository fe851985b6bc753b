"""Checks a file passes before any parser sees it: kind, size, zip entries, declared sheet
dimensions, CSV line length. Each refusal is a TabularError whose Chinese message says why.

The bounds are generous for real office files (a bureau export of a million rows passes)
and refuse what would make a parser allocate without limit: one cell at XFD1048576 makes
calamine allocate the whole 16384 x 1048576 grid; a zip bomb inflates 1000-fold; a line of
commas becomes millions of columns.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from .base import TabularError

__all__ = [
    "DEFAULT_LIMITS",
    "Limits",
    "check_line_length",
    "check_workbook_zip",
    "file_kind",
]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and password-protected .xlsx)
# Files people upload by mistake, named by what they are.
_OTHER_MAGIC = (
    (b"%PDF", "PDF文件"),
    (b"\x89PNG", "PNG图片"),
    (b"\xff\xd8\xff", "JPEG图片"),
    (b"GIF8", "GIF图片"),
    (b"\x1f\x8b", "gzip压缩包"),
    (b"Rar!", "RAR压缩包"),
    (b"7z\xbc\xaf", "7z压缩包"),
    (b"{\\rtf", "RTF文档"),
    (b"PK\x05\x06", "空的zip压缩包"),
)
_DIMENSION_RE = re.compile(rb'<(?:\w+:)?dimension\s+ref="([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?"')
_SHEET_ENTRY_RE = re.compile(r"^xl/worksheets/[^/]+\.xml$")
MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """How much a file may hold. `max_bytes` None: the caller's upload limit applies."""

    max_bytes: int | None = None
    max_columns: int = 1000  # columns of the header / of a sheet's declared width
    max_line_bytes: int = 256 * 1024  # one line of a CSV file
    max_cells: int = 30_000_000  # rows x columns (declared or counted)
    max_zip_entries: int = 5_000
    max_zip_bytes: int = 1024 * MB  # all entries of a workbook, uncompressed
    max_zip_ratio: int = 200  # uncompressed / compressed, for entries over 1 MB

    def size_text(self, value: int) -> str:
        return f"{value / MB:.0f} MB" if value >= MB else f"{value / 1024:.0f} KB"


DEFAULT_LIMITS = Limits()


def file_kind(head: bytes, file_name: str, size: int, limits: Limits = DEFAULT_LIMITS) -> str:
    """ "zip" (xlsx/ods), "xls" or "text" from the first bytes, or TabularError."""
    if size == 0 or not head.strip():
        raise TabularError(f"文件“{file_name}”是空的", code="empty_file")
    if limits.max_bytes is not None and size > limits.max_bytes:
        raise TabularError(
            f"文件“{file_name}”有{limits.size_text(size)}，超过此处导入的上限"
            f"{limits.size_text(limits.max_bytes)}",
            code="too_large",
        )
    if head.startswith(_ZIP_MAGIC):
        return "zip"
    if head.startswith(_OLE2_MAGIC):
        return "xls"
    for magic, what in _OTHER_MAGIC:
        if head.startswith(magic):
            raise TabularError(
                f"文件“{file_name}”是{what}，不是表格；请上传Excel（.xlsx/.xls）或CSV文件",
                code="unreadable",
            )
    return "text"


def _column_number(letters: bytes) -> int:
    number = 0
    for c in letters:
        number = number * 26 + (c - 64)
    return number


def check_workbook_zip(source, file_name: str, limits: Limits = DEFAULT_LIMITS) -> str:
    """Check a zip workbook without inflating it: entries' declared sizes and ratios, and
    each worksheet's declared dimension. Returns "xlsx" or "ods". `source`: bytes or a path.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except (zipfile.BadZipFile, OSError, ValueError):
        raise TabularError(
            f"无法读取文件“{file_name}”：不是有效的Excel文件，或文件已损坏", code="unreadable"
        ) from None
    with archive:
        entries = archive.infolist()
        if len(entries) > limits.max_zip_entries:
            raise TabularError(
                f"文件“{file_name}”包含{len(entries)}个部件，超过上限{limits.max_zip_entries}，"
                "不像是正常的Excel文件",
                code="too_large",
            )
        total = 0
        for entry in entries:
            total += entry.file_size
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > MB and ratio > limits.max_zip_ratio:
                raise TabularError(
                    f"文件“{file_name}”的部件{entry.filename}解压后是压缩时的{ratio:.0f}倍"
                    f"（上限{limits.max_zip_ratio}倍），疑似压缩炸弹，已拒绝",
                    code="too_large",
                )
        if total > limits.max_zip_bytes:
            raise TabularError(
                f"文件“{file_name}”解压后有{limits.size_text(total)}，超过上限"
                f"{limits.size_text(limits.max_zip_bytes)}；请拆分文件或另存为CSV",
                code="too_large",
            )
        names = {e.filename for e in entries}
        if "content.xml" in names and "mimetype" in names:
            return "ods"
        if "xl/workbook.xml" not in names:
            raise TabularError(
                f"无法读取文件“{file_name}”：是zip压缩包，但不是Excel文件", code="unreadable"
            )
        for name in sorted(n for n in names if _SHEET_ENTRY_RE.match(n)):
            try:
                with archive.open(name) as fh:
                    head = fh.read(64 * 1024)
            except (zipfile.BadZipFile, OSError, ValueError, EOFError, RuntimeError):
                raise TabularError(
                    f"无法读取文件“{file_name}”：文件已损坏或已加密", code="unreadable"
                ) from None
            _check_dimension(head, file_name, limits)
    return "xlsx"


def _check_dimension(head: bytes, file_name: str, limits: Limits) -> None:
    match = _DIMENSION_RE.search(head)
    if match is None:
        return  # optional in the format; the parse's memory limit still holds
    first_col, first_row, last_col, last_row = match.groups()
    last_col, last_row = last_col or first_col, last_row or first_row
    if not last_col or not last_row:
        return
    # calamine keeps the area from A1 (empty rows and columns included) to the last cell.
    columns = _column_number(last_col)
    rows = int(last_row)
    ref = match.group(0).split(b'"')[1].decode("ascii", "replace")
    if columns > limits.max_columns:
        raise TabularError(
            f"文件“{file_name}”的工作表范围是{ref}，共{columns}列，超过上限"
            f"{limits.max_columns}列；请删除多余的列（或其中的格式）后重新保存",
            code="too_large",
        )
    if rows * columns > limits.max_cells:
        raise TabularError(
            f"文件“{file_name}”的工作表范围是{ref}（{rows}行×{columns}列），超过上限"
            f"{limits.max_cells}个单元格；请删除多余的行列后重新保存，或拆分文件/另存为CSV",
            code="too_large",
        )


def check_line_length(view, file_name: str, limits: Limits = DEFAULT_LIMITS) -> None:
    """Refuse a text file with a line of more than about `max_line_bytes` (checked in
    windows: any run of 2x the bound without a line end is found, at ~no cost)."""
    step = limits.max_line_bytes
    size = len(view)
    for start in range(0, size - step + 1, step):
        if (
            view.find(b"\n", start, start + step) == -1
            and view.find(b"\r", start, start + step) == -1
        ):
            raise TabularError(
                f"文件“{file_name}”中有一行超过{limits.size_text(step)}（约在第{start + 1}字节处），"
                "不像是表格数据；请检查文件是否正确",
                code="too_large",
            )
