"""A corpus of hostile files for every reader (sparse workbooks, zip bombs, commas, long
lines, too many columns, bad encodings, files that are not tables, blank headers).

Files are generated when asked for, small by default (the tests) or at full size
(`benchmarks/hostile_files.py`). Also a script:

    .venv/bin/python tests/hostile_files.py DIR [--full]    # writes the corpus into DIR
"""

from __future__ import annotations

import io
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

MB = 1024 * 1024

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def _xlsx(sheet_xml: bytes | None = None) -> bytes:
    """A minimal workbook (without its sheet when `sheet_xml` is None)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr("_rels/.rels", _RELS)
        archive.writestr("xl/workbook.xml", _WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        if sheet_xml is not None:
            archive.writestr("xl/worksheets/sheet1.xml", sheet_xml)
    return out.getvalue()


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def sparse_xlsx(cell: str = "XFD1048576", *, declared: str | None = None) -> bytes:
    """1-2 KB: a header row and one cell far away. `declared`: the dimension the sheet
    claims (default: honest, A1:<cell>); a lie hides the far cell from the dimension."""
    row = int("".join(c for c in cell if c.isdigit()))
    dimension = declared or f"A1:{cell}"
    xml = (
        _SHEET_HEAD
        + f'<dimension ref="{dimension}"/><sheetData>'
        + f'<row r="1">{_inline("A1", "姓名")}{_inline("B1", "身份证号")}</row>'
        + f'<row r="{row}">{_inline(cell, "x")}</row>'
        + "</sheetData></worksheet>"
    )
    return _xlsx(xml.encode())


def zip_bomb_xlsx(inflated: int = 20 * MB) -> bytes:
    """A workbook whose sheet inflates ~1000-fold (2 MB -> 2 GB at full size): rows of
    empty-string cells behind an honest-looking dimension."""
    head = (_SHEET_HEAD + '<dimension ref="A1:B2"/><sheetData>').encode()
    row = b'<row><c t="inlineStr"><is><t></t></is></c></row>'
    chunk = row * (MB // len(row))
    out = io.BytesIO(_xlsx())
    with zipfile.ZipFile(out, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(head)
            for _ in range(max(1, inflated // len(chunk))):
                fh.write(chunk)
            fh.write(b"</sheetData></worksheet>")
    return out.getvalue()


def commas_csv(size: int = 2 * MB) -> bytes:
    """One line of commas (100 MB at full size: millions of empty columns)."""
    return b"," * size


def long_line_csv(size: int = 2 * MB, header: str = "姓名,身份证号") -> bytes:
    """A normal header, then one line of `size` letters."""
    return (header + "\n").encode() + b"x" * size + b"\n"


def wide_csv(columns: int = 200_000) -> bytes:
    """A header of 200,000 columns and one row."""
    header = ",".join(f"c{i}" for i in range(columns))
    return (header + "\n" + ",".join("1" for _ in range(columns)) + "\n").encode()


def invalid_gbk_csv(header: str = "姓名,身份证号") -> bytes:
    """Neither UTF-8 nor GBK/GB18030: a lead byte with an impossible trail byte."""
    return (header + "\n张三,").encode("gbk") + b"\x81\x20\xff\xfe\x81\x7f\n"


def renamed_pdf() -> bytes:
    """A PDF named .xlsx or .csv."""
    return (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
        + bytes(range(256)) * 8
        + b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
    )


def empty() -> bytes:
    return b""


def duplicate_blank_headers_csv(headers: list[str], row: list[str]) -> bytes:
    """The import's own header with two blank header cells in the middle, and data under
    them (polars named them "" and "_duplicated_0"; the settlement import then failed)."""
    middle = len(headers) // 2
    head = [*headers[:middle], "", "", *headers[middle:]]
    cells = [*row[:middle], "甲", "乙", *row[middle:]]
    return ("\n".join([",".join(head), ",".join(cells)]) + "\n").encode()


# name -> (file name, maker(full: bool) -> bytes); the blank-header file needs the
# import's own columns, so it is made by each test (`duplicate_blank_headers_csv`).
CORPUS: dict[str, tuple[str, Callable[[bool], bytes]]] = {
    "sparse_xfd1048576": ("sparse.xlsx", lambda full: sparse_xlsx("XFD1048576")),
    "sparse_zz200000": ("zz200000.xlsx", lambda full: sparse_xlsx("ZZ200000")),
    "zip_bomb": ("bomb.xlsx", lambda full: zip_bomb_xlsx(2048 * MB if full else 20 * MB)),
    "commas": ("commas.csv", lambda full: commas_csv(100 * MB if full else 2 * MB)),
    "long_line": ("long.csv", lambda full: long_line_csv(100 * MB if full else 2 * MB)),
    "wide_200000_columns": ("wide.csv", lambda full: wide_csv(200_000)),
    "invalid_gbk": ("gbk.csv", lambda full: invalid_gbk_csv()),
    "renamed_pdf": ("scan.xlsx", lambda full: renamed_pdf()),
    "empty": ("empty.csv", lambda full: empty()),
}


def write_corpus(directory: Path, *, full: bool = False) -> dict[str, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for key, (name, make) in CORPUS.items():
        path = directory / f"{key}-{name}"
        path.write_bytes(make(full))
        paths[key] = path
    path = directory / "duplicate_blank_headers-settlements.csv"
    path.write_bytes(
        duplicate_blank_headers_csv(
            ["settlement_id", "id_number", "admit_date", "discharge_date", "total_cost"],
            ["S1", "330683197306063816", "2026-01-02", "2026-01-03", "1000.00"],
        )
    )
    paths["duplicate_blank_headers"] = path
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1])
    for key, path in write_corpus(target, full="--full" in sys.argv).items():
        print(f"{key}\t{path.stat().st_size}\t{path}")
