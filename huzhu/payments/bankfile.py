"""Bank files of a payment batch (代发): the file we send out, the return file we read back.

Pure functions over plain values: no ORM, no clock. The services in `services.py` load a
batch's rows, call these, and store the results.

The common 代发 layout (one sheet, header on row 1, one row per payee, a total row last):

    序号 | 户名 | 账号 | 开户行 | 金额 | 用途/附言
    1    | 张三 | 6222020200112233445 | 中国工商银行嵊州支行 | 1234.56 | 职工医疗互助金 HZ2026-000123
    ...
    合计 | 共N笔 |  |  | <sum> |

- 序号 is 1..N in the batch's row order and is how a return row finds its batch row.
- 账号 is written as text (an 18-19 digit card number must never become a float).
- 金额 is yuan with two decimals: a number cell in .xlsx, plain `1234.56` in CSV.
- 用途/附言 starts with the purpose and lists the row's claim numbers (`memo_text`).
- CSV is UTF-8 with a BOM (Excel and the banks' upload tools read it), CRLF line ends.

The return file has the same columns plus 处理结果 (成功 / 失败) and 失败原因. A bank that
sends its own layout is read through a column map in `BANK_LAYOUTS` (one entry per bank):
the example `rural_bank_example` is a return file whose header is
`收款人姓名, 收款账号, 交易金额, 交易状态, 备注`: it has no 序号 (rows are matched by order),
its status says 交易成功 / 交易失败, and the failure reason is in 备注.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from huzhu.core.money import MoneyError, fen_to_yuan, yuan_to_fen
from huzhu.core.tabular import RowProblem, TabularError, read_grids, sheet_from_grids

__all__ = [
    "BANK_LAYOUTS",
    "BankLayout",
    "BankRow",
    "COLUMNS",
    "MatchReport",
    "RETURN_COLUMNS",
    "ReturnFile",
    "ReturnRow",
    "RowResult",
    "checksum",
    "match_return",
    "memo_text",
    "read_return_file",
    "write_bank_file",
    "write_csv",
    "write_xlsx",
]

COLUMNS = ("序号", "户名", "账号", "开户行", "金额", "用途/附言")
RETURN_COLUMNS = (*COLUMNS, "处理结果", "失败原因")
TOTAL_LABEL = "合计"
PURPOSE = "职工医疗互助金"
# Banks cut long memos; past this many characters the claim list is shortened ("…等N笔").
MEMO_MAX = 120

SUCCESS = "success"
FAILED = "failed"


@dataclass(frozen=True)
class BankRow:
    """One payee row of the file we send (amount in fen, account in clear)."""

    seq: int
    name: str
    account: str
    bank_name: str
    amount_fen: int
    memo: str


def memo_text(claim_numbers: Sequence[str], *, purpose: str = PURPOSE) -> str:
    """`职工医疗互助金 HZ2026-000001、HZ2026-000002`, shortened past MEMO_MAX characters."""
    numbers = list(claim_numbers)
    text = f"{purpose} {'、'.join(numbers)}".strip()
    if len(text) <= MEMO_MAX:
        return text
    shown: list[str] = []
    for number in numbers:
        candidate = f"{purpose} {'、'.join([*shown, number])}等{len(numbers)}笔"
        if len(candidate) > MEMO_MAX:
            break
        shown.append(number)
    return f"{purpose} {'、'.join(shown)}等{len(numbers)}笔"


def checksum(data: bytes) -> str:
    """SHA-256 of a file, hex: what the batch records for the file it sent or read."""
    return hashlib.sha256(data).hexdigest()


def _total_line(rows: Sequence[BankRow]) -> list[str]:
    total = sum(r.amount_fen for r in rows)
    return [TOTAL_LABEL, f"共{len(rows)}笔", "", "", fen_to_yuan(total), ""]


def write_csv(rows: Sequence[BankRow]) -> bytes:
    """The batch file as CSV: UTF-8 with BOM, CRLF, header, rows, total row."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow([r.seq, r.name, r.account, r.bank_name, fen_to_yuan(r.amount_fen), r.memo])
    writer.writerow(_total_line(rows))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _xml(text: str) -> str:
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text:
        return text  # the common case, checked first: 400,000 cells per 100,000 rows
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _XML_BAD.sub("", text)


def _col(index: int) -> str:
    return "ABCDEF"[index]


_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<fonts count="2"><font><sz val="11"/><name val="宋体"/></font>'
    '<font><b/><sz val="11"/><name val="宋体"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="2" fontId="1" fillId="0" borderId="0" xfId="0" applyNumberFormat="1" '
    'applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
    "</Relationships>"
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="代发明细" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
    "</Relationships>"
)
_WIDTHS = (6, 12, 24, 28, 12, 48)


def write_xlsx(rows: Sequence[BankRow], *, title: str, created: dt.datetime) -> bytes:
    """The batch file as .xlsx (Office Open XML, one sheet, inline strings).

    Written directly rather than through a general spreadsheet library: 100,000 rows take
    well under a second this way (xlsxwriter needed several). Zip entries carry a fixed
    date and `created` is the document date, so the same batch gives the same bytes (and
    checksum) every time. 账号 cells are text (number format "@"), 金额 cells numbers
    written from exact fen with the format 0.00.
    """
    import zipfile

    def text_cell(ref: str, value: str, style: int) -> str:
        return f'<c r="{ref}" s="{style}" t="inlineStr"><is><t>{_xml(value)}</t></is></c>'

    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
        'activePane="bottomLeft" state="frozen"/></sheetView></sheetViews><cols>'
    ]
    parts += [
        f'<col min="{i + 1}" max="{i + 1}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(_WIDTHS)
    ]
    parts.append('</cols><sheetData><row r="1">')
    parts += [text_cell(f"{_col(i)}1", name, 1) for i, name in enumerate(COLUMNS)]
    parts.append("</row>")
    line = 1
    for line, r in enumerate(rows, start=2):
        parts.append(
            f'<row r="{line}"><c r="A{line}"><v>{r.seq}</v></c>'
            f'<c r="B{line}" t="inlineStr"><is><t>{_xml(r.name)}</t></is></c>'
            f'<c r="C{line}" s="2" t="inlineStr"><is><t>{_xml(r.account)}</t></is></c>'
            f'<c r="D{line}" t="inlineStr"><is><t>{_xml(r.bank_name)}</t></is></c>'
            f'<c r="E{line}" s="3"><v>{fen_to_yuan(r.amount_fen)}</v></c>'
            f'<c r="F{line}" t="inlineStr"><is><t>{_xml(r.memo)}</t></is></c></row>'
        )
    total = _total_line(rows)
    last = line + 1
    parts.append(
        f'<row r="{last}">{text_cell(f"A{last}", total[0], 1)}{text_cell(f"B{last}", total[1], 1)}'
        f'<c r="E{last}" s="4"><v>{total[4]}</v></c></row>'
    )
    parts.append("</sheetData></worksheet>")
    stamp = (created.astimezone(dt.UTC) if created.tzinfo else created).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    core = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{_xml(title)}</dc:title><dc:creator>Huzhu</dc:creator>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        "</cp:coreProperties>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, data in (
            ("[Content_Types].xml", _CONTENT_TYPES),
            ("_rels/.rels", _ROOT_RELS),
            ("docProps/core.xml", core),
            ("xl/workbook.xml", _WORKBOOK),
            ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS),
            ("xl/styles.xml", _STYLES),
            ("xl/worksheets/sheet1.xml", "".join(parts)),
        ):
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data.encode("utf-8"), compresslevel=1)
    return out.getvalue()


def write_bank_file(
    rows: Sequence[BankRow], *, file_format: str, title: str, created: dt.datetime
) -> bytes:
    if file_format == "xlsx":
        return write_xlsx(rows, title=title, created=created)
    if file_format == "csv":
        return write_csv(rows)
    raise ValueError(f"unknown bank file format {file_format!r} (xlsx or csv)")


# --- return files ---------------------------------------------------------------------------


@dataclass(frozen=True)
class BankLayout:
    """How one bank's return file names the columns (header -> canonical name)."""

    code: str
    label: str
    headers: dict[str, str]
    # Values of the status column meaning success / failure (compared after normalising).
    success_values: frozenset[str] = frozenset({"成功", "处理成功", "交易成功", "success", "s"})
    failed_values: frozenset[str] = frozenset(
        {"失败", "处理失败", "交易失败", "退票", "已退回", "failed", "fail", "f"}
    )
    # Some banks put the failure reason in their remark column instead of a reason column.
    reason_in_memo: bool = False


_STANDARD_HEADERS = {
    "序号": "seq",
    "户名": "name",
    "账号": "account",
    "开户行": "bank_name",
    "金额": "amount",
    "用途/附言": "memo",
    "用途": "memo",
    "附言": "memo",
    "处理结果": "result",
    "失败原因": "reason",
}

BANK_LAYOUTS: dict[str, BankLayout] = {
    "standard": BankLayout(
        code="standard",
        label="通用代发回盘格式（导出列＋处理结果、失败原因）",
        headers=_STANDARD_HEADERS,
    ),
    # Example of a bank with its own layout (documented in the module docstring).
    "rural_bank_example": BankLayout(
        code="rural_bank_example",
        label="收款人姓名/收款账号/交易金额/交易状态/备注 格式",
        headers={
            "收款人姓名": "name",
            "收款账号": "account",
            "交易金额": "amount",
            "交易状态": "result",
            "备注": "memo",
        },
        reason_in_memo=True,
    ),
}

_LABELS = {
    "seq": "序号",
    "name": "户名",
    "account": "账号",
    "amount": "金额",
    "result": "处理结果",
    "reason": "失败原因",
    "memo": "用途/附言",
}


@dataclass(frozen=True)
class ReturnRow:
    line: int  # spreadsheet row number
    seq: int | None
    name: str
    account: str  # digits; may contain '*' where the bank masked it
    amount_fen: int | None
    result: str  # SUCCESS / FAILED / "" when unreadable
    reason: str


@dataclass
class ReturnFile:
    layout: str
    encoding: str | None
    header_row: int
    rows: list[ReturnRow]
    problems: list[RowProblem] = field(default_factory=list)


def _norm(value: object) -> str:
    if value is None:
        return ""
    if value.__class__ is str and value.isascii():
        return value.strip()  # nothing full-width to fold: skip NFKC
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


_PLAIN_AMOUNT = re.compile(r"[0-9]{1,15}\.[0-9]{2}")
_ACCOUNT_NOISE = re.compile(r"[\s\-]")


def _account(value: object, line: int, problems: list[RowProblem]) -> str:
    if isinstance(value, float):
        problems.append(
            RowProblem(
                line,
                "账号",
                "excel_mangled",
                "账号已被Excel转换成数字，后几位已丢失，无法核对；请使用银行原始回盘文件",
            )
        )
        return ""
    return _ACCOUNT_NOISE.sub("", _norm(value))


def _is_total_row(record: dict[str, object]) -> bool:
    first = _norm(record.get("seq")) or _norm(record.get("name"))
    return first.startswith(("合计", "总计", "共计"))


def _amount_fen(raw: object) -> int:
    """An amount cell (yuan) as fen > 0, exactly, or MoneyError."""
    if raw is None:
        raise MoneyError("empty", "金额为空")
    if raw.__class__ is str:
        if _PLAIN_AMOUNT.fullmatch(raw):  # "1234.56": the common case, no Decimal needed
            fen = int(raw.replace(".", ""))
        else:
            fen = yuan_to_fen(_norm(raw).replace(",", ""))
    elif isinstance(raw, float):
        fen = yuan_to_fen(Decimal(str(raw)))
    else:
        fen = yuan_to_fen(raw)
    if fen <= 0:
        raise MoneyError("not_positive", f"金额“{_norm(raw)}”必须大于0")
    return fen


def read_return_file(data: bytes, file_name: str, *, layout: str | None = None) -> ReturnFile:
    """Read a bank return file (.xlsx/.xls/CSV in UTF-8 or GBK) into rows.

    `layout` names an entry of BANK_LAYOUTS; None tries each and takes the first whose
    required columns are present. Raises TabularError when the file is unreadable or no
    layout fits. Per-row problems (bad amount, unknown status…) are listed in `.problems`.
    """
    candidates = [BANK_LAYOUTS[layout]] if layout else list(BANK_LAYOUTS.values())
    grids, encoding = read_grids(data, file_name)  # checked, parsed once in the child
    sheet = None
    chosen = None
    errors: list[str] = []
    for candidate in candidates:
        required = {"name", "account", "amount", "result"}
        try:
            sheet = sheet_from_grids(
                grids, file_name, encoding, aliases=candidate.headers, required=required
            )
        except TabularError as exc:
            if exc.code not in ("no_header", "missing_columns"):
                raise
            errors.append(exc.message)
            continue
        chosen = candidate
        break
    if sheet is None or chosen is None:
        raise TabularError(
            "无法识别回盘文件的格式："
            + "；".join(errors)
            + "。回盘文件应包含导出的列及“处理结果”“失败原因”",
            code="no_header",
        )

    rows: list[ReturnRow] = []
    problems: list[RowProblem] = []
    for line, record in sheet.rows:
        if _is_total_row(record):
            continue
        seq = None
        if "seq" in sheet.columns:
            raw_seq = _norm(record.get("seq"))
            if raw_seq.isdigit():
                seq = int(raw_seq)
            else:
                problems.append(RowProblem(line, "序号", "bad_seq", f"序号“{raw_seq}”不是正整数"))
        try:
            amount_fen = _amount_fen(record.get("amount"))
        except MoneyError as exc:
            problems.append(RowProblem(line, "金额", exc.code, exc.message))
            amount_fen = None
        status = _norm(record.get("result")).casefold()
        if status in chosen.success_values:
            result = SUCCESS
        elif status in chosen.failed_values:
            result = FAILED
        else:
            result = ""
            problems.append(
                RowProblem(
                    line,
                    "处理结果",
                    "bad_result",
                    f"处理结果“{_norm(record.get('result'))}”无法识别（应为“成功”或“失败”）",
                )
            )
        reason = _norm(record.get("reason"))
        if not reason and chosen.reason_in_memo and result == FAILED:
            reason = _norm(record.get("memo"))
        rows.append(
            ReturnRow(
                line=line,
                seq=seq,
                name=_norm(record.get("name")),
                account=_account(record.get("account"), line, problems),
                amount_fen=amount_fen,
                result=result,
                reason=reason if result == FAILED else "",
            )
        )
    return ReturnFile(
        layout=chosen.code,
        encoding=sheet.encoding,
        header_row=sheet.header_row,
        rows=rows,
        problems=problems,
    )


# --- matching a return file against the batch ----------------------------------------------


@dataclass(frozen=True)
class RowResult:
    seq: int
    success: bool
    reason: str  # the bank's failure reason ("" on success)


@dataclass
class MatchReport:
    """The outcome of checking a return file against the batch: all rows, or problems."""

    results: list[RowResult]
    problems: list[RowProblem]
    expected_count: int
    returned_count: int

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def success_count(self) -> int:
        return sum(1 for r in self.results if r.success)

    @property
    def failed_count(self) -> int:
        return sum(1 for r in self.results if not r.success)


def accounts_match(sent: str, returned: str) -> bool:
    """True when the returned account is the sent one; a bank may mask middle digits
    (`6222********3445`): the visible digits must then agree and the length be the same."""
    if "*" not in returned:
        return sent == returned
    if len(returned) != len(sent):
        # Some banks collapse the mask to a fixed number of stars: compare the ends.
        head, _, tail = returned.partition("*")
        tail = tail.lstrip("*")
        return bool(head or tail) and sent.startswith(head) and sent.endswith(tail)
    return all(r == "*" or r == s for r, s in zip(returned, sent, strict=True))


def _masked(account: str) -> str:
    return account[:4] + "****" + account[-4:] if len(account) > 8 else account


UNSPECIFIED_FAILURE = "银行未说明失败原因"


def match_return(expected: Sequence[BankRow], returned: ReturnFile) -> MatchReport:
    """Check every returned row against the batch row it answers; list each mismatch.

    Rows are paired by 序号 when the file has it, else by order. The file must hold every
    batch row exactly once with the same account and amount; the report lists, row by row,
    what differs. When `.ok`, `.results` has one result per batch row in 序号 order.
    """
    problems: list[RowProblem] = list(returned.problems)
    by_seq = {r.seq: r for r in expected}
    pairs: list[tuple[BankRow, ReturnRow]] = []
    rows = returned.rows
    has_seq = any(r.seq is not None for r in rows)
    if has_seq:
        seen: dict[int, int] = {}
        for r in rows:
            if r.seq is None:
                continue  # already reported as bad_seq
            if r.seq in seen:
                problems.append(
                    RowProblem(
                        r.line,
                        "序号",
                        "duplicate_seq",
                        f"序号{r.seq}重复（第{seen[r.seq]}行已出现）",
                    )
                )
                continue
            seen[r.seq] = r.line
            sent = by_seq.get(r.seq)
            if sent is None:
                problems.append(
                    RowProblem(r.line, "序号", "unknown_seq", f"本批次没有序号{r.seq}的记录")
                )
                continue
            pairs.append((sent, r))
        for sent in expected:
            if sent.seq not in seen:
                problems.append(
                    RowProblem(
                        0,
                        "序号",
                        "missing_row",
                        f"回盘文件缺少序号{sent.seq}（{sent.name}，{fen_to_yuan(sent.amount_fen)}元）",
                    )
                )
    else:
        for sent, r in zip(expected, rows, strict=False):
            pairs.append((sent, r))
        for sent in expected[len(rows) :]:
            problems.append(
                RowProblem(
                    0,
                    "序号",
                    "missing_row",
                    f"回盘文件缺少第{sent.seq}笔（{sent.name}，{fen_to_yuan(sent.amount_fen)}元）",
                )
            )
        for r in rows[len(expected) :]:
            problems.append(
                RowProblem(r.line, "户名", "extra_row", f"本批次只有{len(expected)}笔，此行多出")
            )
    if len(rows) != len(expected):
        problems.insert(
            0,
            RowProblem(
                0,
                "笔数",
                "count_mismatch",
                f"回盘文件有{len(rows)}笔，本批次有{len(expected)}笔",
            ),
        )

    results: list[RowResult] = []
    for sent, r in pairs:
        if r.account and not accounts_match(sent.account, r.account):
            problems.append(
                RowProblem(
                    r.line,
                    "账号",
                    "account_mismatch",
                    f"序号{sent.seq}账号与批次不符（批次 {_masked(sent.account)}，"
                    f"回盘 {_masked(r.account)}）",
                )
            )
        elif not r.account:
            problems.append(
                RowProblem(r.line, "账号", "account_missing", f"序号{sent.seq}缺少账号")
            )
        if r.amount_fen is not None and r.amount_fen != sent.amount_fen:
            problems.append(
                RowProblem(
                    r.line,
                    "金额",
                    "amount_mismatch",
                    f"序号{sent.seq}金额与批次不符（批次 {fen_to_yuan(sent.amount_fen)}，"
                    f"回盘 {fen_to_yuan(r.amount_fen)}）",
                )
            )
        if r.result:
            results.append(
                RowResult(
                    seq=sent.seq,
                    success=r.result == SUCCESS,
                    reason="" if r.result == SUCCESS else (r.reason or UNSPECIFIED_FAILURE),
                )
            )
    results.sort(key=lambda x: x.seq)
    return MatchReport(
        results=results if not problems else [],
        problems=sorted(problems, key=lambda p: p.row),
        expected_count=len(expected),
        returned_count=len(rows),
    )


def write_return_file(
    rows: Iterable[BankRow], outcomes: dict[int, tuple[bool, str]], *, file_format: str = "csv"
) -> bytes:
    """A return file in the standard layout (what a bank sends back): for tests, the demo and
    the benchmark, which have no bank. `outcomes` maps 序号 to (success, reason); rows not
    in it succeed."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(RETURN_COLUMNS)
    rows = list(rows)
    for r in rows:
        ok, reason = outcomes.get(r.seq, (True, ""))
        writer.writerow(
            [
                r.seq,
                r.name,
                r.account,
                r.bank_name,
                fen_to_yuan(r.amount_fen),
                r.memo,
                "成功" if ok else "失败",
                "" if ok else reason,
            ]
        )
    writer.writerow([*_total_line(rows), "", ""])
    data = ("\ufeff" + out.getvalue()).encode("utf-8")
    if file_format == "csv":
        return data
    raise ValueError("write_return_file writes CSV only")
