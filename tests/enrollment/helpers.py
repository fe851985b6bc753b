"""Building the sheets offices send (openpyxl, as Excel saves them) and valid ID numbers."""

import io
import itertools
from datetime import date

import openpyxl

from huzhu.members.idnumbers import check_digit

_order = itertools.count(1)


def id_number(born: date = date(1985, 6, 15), *, female: bool = False) -> str:
    """A valid 330683 ID number, unique within the test run."""
    n = next(_order)
    born = date(born.year - n // 450, born.month, born.day)  # 450 numbers per birth date
    seq = 2 * (n % 450) + (0 if female else 1)  # the 17th digit is odd for men
    first17 = f"330683{born:%Y%m%d}{seq:03d}"
    return first17 + check_digit(first17)


HEADER = ["姓名", "身份证号", "手机号", "开户银行", "银行账号"]


def xlsx(rows, *, header=HEADER, title: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    if title:
        sheet.append([title])
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def csv_bytes(rows, *, header=HEADER, encoding="utf-8") -> bytes:
    lines = [",".join(header)] + [
        ",".join("" if v is None else str(v) for v in row) for row in rows
    ]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)
