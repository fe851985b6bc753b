"""Parsing a checked file into grids (lists of rows of raw cells): calamine for workbooks,
the csv module for text. Runs inside the parsing child (`isolation`) for every import.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time

from .base import HEADER_SCAN_ROWS, TabularError
from .checks import DEFAULT_LIMITS, Limits

__all__ = ["cell_as_text", "csv_grid", "decode_text", "sniff_delimiter", "workbook_grids"]


def decode_text(data: bytes, file_name: str) -> tuple[str, str]:
    """UTF-8 (BOM stripped) first, then GB18030 (a superset of GBK): (text, encoding)."""
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
        line = data.count(b"\n", 0, exc.start) + 1
        raise TabularError(
            f"无法读取文件“{file_name}”：编码既不是UTF-8也不是GBK/GB18030（第{line}行有无法识别的字节）",
            code="unreadable",
        ) from None


def sniff_delimiter(sample: str) -> str:
    """ "," unless the first lines hold none and tabs or semicolons instead."""
    first_lines = sample.splitlines()[:HEADER_SCAN_ROWS]
    counts = {d: sum(line.count(d) for line in first_lines) for d in (",", "\t", ";")}
    if counts[","] == 0 and max(counts.values()):
        return max(counts, key=counts.get)
    return ","


def csv_grid(text: str, file_name: str, limits: Limits = DEFAULT_LIMITS) -> list[list[object]]:
    """Every line of a CSV text as a list of cells, within the column and cell bounds."""
    delimiter = sniff_delimiter(text[:8192])
    grid: list[list[object]] = []
    cells = 0
    try:
        for number, row in enumerate(
            csv.reader(io.StringIO(text, newline=""), delimiter=delimiter), start=1
        ):
            if len(row) > limits.max_columns:
                raise TabularError(
                    f"文件“{file_name}”第{number}行有{len(row)}列，超过上限{limits.max_columns}列",
                    code="too_large",
                )
            cells += len(row)
            if cells > limits.max_cells:
                raise TabularError(
                    f"文件“{file_name}”超过{limits.max_cells}个单元格的上限；请拆分文件",
                    code="too_large",
                )
            grid.append(row)
    except csv.Error as exc:
        raise TabularError(f"文件“{file_name}”的CSV格式错误：{exc}", code="unreadable") from None
    return grid


def workbook_grids(source, file_name: str, limits: Limits = DEFAULT_LIMITS) -> list[list[list]]:
    """Every visible worksheet as a list of rows (spreadsheet row 1 is index 0).

    `source`: bytes or a path. Call on a checked file, in the parsing child."""
    grids = []
    for sheet in _visible_sheets(source, file_name):
        grid = []
        try:
            for row in sheet.iter_rows():
                if len(row) > limits.max_columns:
                    raise TabularError(
                        f"文件“{file_name}”的工作表“{sheet.name}”有{len(row)}列，超过上限"
                        f"{limits.max_columns}列",
                        code="too_large",
                    )
                grid.append(row)
        except TabularError:
            raise
        except Exception:
            raise _broken(file_name) from None
        grids.append(grid)
    if not grids:
        raise TabularError(f"文件“{file_name}”中没有可读的工作表", code="unreadable")
    return grids


def _broken(file_name: str) -> TabularError:
    return TabularError(
        f"无法读取文件“{file_name}”：不是有效的Excel文件，或文件已加密/损坏", code="unreadable"
    )


def _visible_sheets(source, file_name: str):
    import python_calamine

    try:
        workbook = python_calamine.load_workbook(
            io.BytesIO(source) if isinstance(source, bytes) else source
        )
        for index, meta in enumerate(workbook.sheets_metadata):
            if meta.visible != python_calamine.SheetVisibleEnum.Visible:
                continue
            if meta.typ != python_calamine.SheetTypeEnum.WorkSheet:
                continue
            yield _SheetRows(workbook, index, meta.name)
    except TabularError:
        raise
    except Exception:  # calamine raises several types for broken/encrypted files
        raise _broken(file_name) from None


class _SheetRows:
    """A worksheet's rows from spreadsheet row 1, one list per row."""

    def __init__(self, workbook, index: int, name: str) -> None:
        self.workbook, self.index, self.name = workbook, index, name

    def iter_rows(self):
        # Without skipping the empty area the grid starts at spreadsheet row 1, column A.
        yield from self.workbook.get_sheet_by_index(self.index).to_python(skip_empty_area=False)


def cell_as_text(value: object) -> str | None:
    """A raw cell as the text the bulk paths read (amounts never become floats there)."""
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
