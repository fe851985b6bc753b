"""`huzhu payment-batch create|export|mark-sent|import-return|cancel`: payment batches (代发).

    huzhu payment-batch create [--payee member|hospital] [--union CODE] [--benefit CODE]
                               [--approved-from DATE] [--approved-to DATE] [--source auto|manual]
    huzhu payment-batch export BATCH --format xlsx|csv --out FILE
    huzhu payment-batch mark-sent BATCH
    huzhu payment-batch import-return BATCH FILE [--paid-on DATE] [--layout standard|...]
    huzhu payment-batch cancel BATCH [--reason TEXT]

The commands act as the platform (audit actor empty). Exit codes: 0 done, 1 refused (every
problem listed, one line each), 2 usage error, unknown batch or unreadable file. The last
output line is the JSON summary.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from huzhu.claims.models import ClaimSource, PayeeKind
from huzhu.core.commands import HuzhuCommand, UsageError
from huzhu.core.money import fen_to_yuan
from huzhu.core.tabular import TabularError, read_file_bytes
from huzhu.payments.bankfile import BANK_LAYOUTS
from huzhu.payments.error_codes import PaymentError, PaymentErrorCode
from huzhu.payments.models import PaymentBatch
from huzhu.payments.selectors import QueueFilters
from huzhu.payments.services import (
    payment_batch_cancel,
    payment_batch_create,
    payment_batch_export,
    payment_batch_import_return,
    payment_batch_mark_sent,
)

USAGE_CODES = {PaymentErrorCode.BAD_FILTER, PaymentErrorCode.BAD_FORMAT}


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"日期“{value}”应为 YYYY-MM-DD")


class Command(HuzhuCommand):
    help = "Payment batches (代发): create, export the bank file, mark sent, import the return file, cancel."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        create = sub.add_parser("create", help="put the payable claims into a new batch")
        create.add_argument("--payee", choices=PayeeKind.values, default=PayeeKind.MEMBER)
        create.add_argument("--union", default="", help="union code; its sub-unions included")
        create.add_argument("--benefit", default="", help="benefit code, e.g. inpatient")
        create.add_argument("--approved-from", metavar="DATE", help="YYYY-MM-DD")
        create.add_argument("--approved-to", metavar="DATE", help="YYYY-MM-DD")
        create.add_argument("--source", choices=ClaimSource.values, default="")

        export = sub.add_parser("export", help="write the bank file of a batch")
        export.add_argument("batch", help="batch number, e.g. DF20261125-00001")
        export.add_argument("--format", choices=["xlsx", "csv"], required=True)
        export.add_argument("--out", required=True, help="file to write")

        sent = sub.add_parser("mark-sent", help="the bank file was handed to the bank")
        sent.add_argument("batch")

        ret = sub.add_parser("import-return", help="apply the bank's return file")
        ret.add_argument("batch")
        ret.add_argument("file", help=".xlsx, .xls or .csv")
        ret.add_argument("--paid-on", metavar="DATE", help="payment date (default today)")
        ret.add_argument("--layout", choices=sorted(BANK_LAYOUTS), help="default: detect")

        cancel = sub.add_parser("cancel", help="cancel a batch that was not sent")
        cancel.add_argument("batch")
        cancel.add_argument("--reason", default="")

    def handle(self, *args, **options):
        action = options["action"]
        try:
            summary = getattr(self, "do_" + action.replace("-", "_"))(options)
        except PaymentError as exc:
            if exc.code in USAGE_CODES:
                raise UsageError(exc.message)
            self.stdout.write(exc.message)
            for problem in exc.problems:
                self.stdout.write(problem.as_line() if problem.row else problem.message)
            self.write_summary(
                {
                    "action": action,
                    "refused": True,
                    "code": str(exc.code),
                    "problems": len(exc.problems),
                }
            )
            self.exit_refused()
        self.write_summary({"action": action, **summary})

    def _batch(self, number: str) -> PaymentBatch:
        batch = PaymentBatch.objects.filter(number=number.strip()).first()
        if batch is None:
            raise UsageError(f"批次 {number} 不存在")
        return batch

    def do_create(self, options) -> dict:
        filters = QueueFilters(
            payee_kind=options["payee"],
            union_code=options["union"].strip(),
            benefit_code=options["benefit"].strip(),
            approved_from=_date(options["approved_from"]) if options["approved_from"] else None,
            approved_to=_date(options["approved_to"]) if options["approved_to"] else None,
            source=options["source"],
        )
        result = payment_batch_create(acting_user=None, filters=filters)
        batch = result.batch
        self.stdout.write(batch.number)
        for lo in result.left_out:
            self.stdout.write(f"未纳入 {lo.name}（{','.join(lo.claim_numbers)}）：{lo.reason}")
        return {
            "batch": batch.number,
            "payee": batch.payee_kind,
            "rows": batch.row_count,
            "claims": batch.claim_count,
            "gross": fen_to_yuan(batch.gross_fen),
            "netted": fen_to_yuan(batch.netted_fen),
            "total": fen_to_yuan(batch.total_fen),
            "total_fen": batch.total_fen,
            "left_out": batch.left_out_count,
        }

    def do_export(self, options) -> dict:
        batch = self._batch(options["batch"])
        exported = payment_batch_export(
            batch=batch, file_format=options["format"], acting_user=None
        )
        out = Path(options["out"])
        try:
            out.write_bytes(exported.data)
        except OSError as exc:
            raise UsageError(f"无法写入文件 {out}: {exc.strerror or exc}")
        self.stdout.write(f"{batch.number} → {out}（sha256 {exported.checksum}）")
        return {
            "batch": batch.number,
            "format": options["format"],
            "out": str(out),
            "sha256": exported.checksum,
            "bytes": len(exported.data),
            "total": fen_to_yuan(batch.total_fen),
        }

    def do_mark_sent(self, options) -> dict:
        batch = payment_batch_mark_sent(batch=self._batch(options["batch"]), acting_user=None)
        self.stdout.write(f"{batch.number} 已标记为已发送银行")
        return {"batch": batch.number, "state": batch.state, "sha256": batch.file_checksum}

    def do_import_return(self, options) -> dict:
        batch = self._batch(options["batch"])
        path = Path(options["file"])
        try:
            data = read_file_bytes(path)
        except TabularError as exc:
            raise UsageError(exc.message)
        paid_on = _date(options["paid_on"]) if options["paid_on"] else None
        try:
            result = payment_batch_import_return(
                batch=batch,
                data=data,
                file_name=path.name,
                acting_user=None,
                paid_on=paid_on,
                layout=options["layout"],
            )
        except TabularError as exc:
            raise UsageError(exc.message)
        if not result.applied:
            self.stdout.write(f"该回盘文件已导入过批次 {batch.number}，未做任何更改")
        for seq, name, reason in result.failures:
            self.stdout.write(f"序号{seq} {name} 发放失败：{reason}")
        return {
            "batch": batch.number,
            "applied": result.applied,
            "sha256": result.checksum,
            "success": result.batch.success_count,
            "success_total": fen_to_yuan(result.batch.success_fen),
            "failed": result.batch.failed_count,
            "failed_total": fen_to_yuan(result.batch.failed_fen),
        }

    def do_cancel(self, options) -> dict:
        batch = payment_batch_cancel(
            batch=self._batch(options["batch"]), acting_user=None, reason=options["reason"]
        )
        self.stdout.write(f"{batch.number} 已撤销，{batch.claim_count} 笔申请回到待发放队列")
        return {"batch": batch.number, "state": batch.state, "claims_released": batch.claim_count}
