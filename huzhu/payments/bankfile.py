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
from huzhu.core.tabular import RowProblem, TabularError, read_table

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


def write_xlsx(rows: Sequence[BankRow], *, title: str, created: dt.datetime) -> bytes:
    """The batch file as .xlsx. `created` is written as the document date, so the same batch
    exported twice gives the same bytes (and the same checksum)."""
    import xlsxwriter

    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "constant_memory": True, "strings_to_numbers": False}
    )
    created_naive = created.replace(tzinfo=None) if created.tzinfo else created
    workbook.set_properties({"title": title, "created": created_naive})
    sheet = workbook.add_worksheet("代发明细")
    head = workbook.add_format({"bold": True, "bg_color": "#F0F0F0", "border": 1})
    text = workbook.add_format({"num_format": "@"})
    money = workbook.add_format({"num_format": "0.00"})
    bold_money = workbook.add_format({"num_format": "0.00", "bold": True})
    bold = workbook.add_format({"bold": True})
    for col, (name, width) in enumerate(zip(COLUMNS, (6, 12, 24, 28, 12, 48), strict=True)):
        sheet.set_column(col, col, width)
        sheet.write_string(0, col, name, head)
    line = 0
    for line, r in enumerate(rows, start=1):
        sheet.write_number(line, 0, r.seq)
        sheet.write_string(line, 1, r.name)
        sheet.write_string(line, 2, r.account, text)
        sheet.write_string(line, 3, r.bank_name)
        # fen -> yuan as a float is exact to the cent for any amount below 2**53 fen.
        sheet.write_number(line, 4, r.amount_fen / 100, money)
        sheet.write_string(line, 5, r.memo)
    total = _total_line(rows)
    sheet.write_string(line + 1, 0, total[0], bold)
    sheet.write_string(line + 1, 1, total[1], bold)
    sheet.write_number(line + 1, 4, sum(r.amount_fen for r in rows) / 100, bold_money)
    workbook.close()
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
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).strip()


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


def read_return_file(data: bytes, file_name: str, *, layout: str | None = None) -> ReturnFile:
    """Read a bank return file (.xlsx/.xls/CSV in UTF-8 or GBK) into rows.

    `layout` names an entry of BANK_LAYOUTS; None tries each and takes the first whose
    required columns are present. Raises TabularError when the file is unreadable or no
    layout fits. Per-row problems (bad amount, unknown status…) are listed in `.problems`.
    """
    candidates = [BANK_LAYOUTS[layout]] if layout else list(BANK_LAYOUTS.values())
    sheet = None
    chosen = None
    errors: list[str] = []
    for candidate in candidates:
        required = {"name", "account", "amount", "result"}
        try:
            sheet = read_table(data, file_name, aliases=candidate.headers, required=required)
        except TabularError as exc:
            if exc.code in ("empty_file", "unreadable"):
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
        amount_fen = None
        raw_amount = record.get("amount")
        try:
            if raw_amount is None:
                raise MoneyError("empty", "金额为空")
            if isinstance(raw_amount, float):
                raw_amount = Decimal(str(raw_amount))
            amount_fen = yuan_to_fen(
                _norm(raw_amount).replace(",", "") if isinstance(raw_amount, str) else raw_amount
            )
            if amount_fen <= 0:
                raise MoneyError("not_positive", f"金额“{_norm(raw_amount)}”必须大于0")
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
