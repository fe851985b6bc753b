"""Reports over the fund and the enrollment: `fund` (互助金收支表) and `enrollment`."""

from __future__ import annotations

from django.db.models import Count, Q, Sum

from huzhu.claims.models import AdjustmentKind, ClaimStatus
from huzhu.enrollment.models import Enrollment, FeeReceipt
from huzhu.enrollment.selectors import renewal_exists
from huzhu.members.models import Member

from .base import Chart, Column, DateMonth, Report, Scope, Table, ratio
from .claims_reports import adjustment_totals, claim_facts, claims_of, payout_rows, union_labels
from .models import ClaimFacts

__all__ = [
    "enrolled",
    "fees_received",
    "fund_balance",
    "fund_position",
    "no_card_enrollments",
    "report_enrollment",
    "report_fund",
]


def enrolled(scope: Scope):
    """The scope's live enrollments of the year."""
    return scope.unions(
        Enrollment.objects.filter(scheme_year_id=scope.scheme_year_id, withdrawn_at__isnull=True)
    )


def no_card_enrollments(scope: Scope):
    """The scope's live enrollments of the year whose member has no bank account or no bank
    name on record: a semi-join from the small `member_no_card` index, not a join of every
    enrollment to its member."""
    no_card = Member.objects.filter(Q(bank_account_last4="") | Q(bank_name="")).values("id")
    return enrolled(scope).filter(member_id__in=no_card)


def fees_received(scope: Scope):
    """The scope's fee receipts of the year."""
    return scope.unions(FeeReceipt.objects.filter(scheme_year_id=scope.scheme_year_id))


def fund_position(scope: Scope, facts: list[dict] | None = None) -> dict:
    """The year's fund in fen: fees due / received, claims approved (incurred) / paid /
    awaiting payment, recoveries and top-ups (raised and settled), balance, loss ratio.

    Counted once: a claim's approved amount counts in `approved_fen` (and `paid_fen` once the
    bank paid it); a recovery netted from a later payment counts only in
    `recoveries_settled_fen`, a top-up paid only in `top_ups_settled_fen`. Balance = fees
    received − claims paid − top-ups paid + recoveries collected.
    """
    due = enrolled(scope).aggregate(n=Count("*"), fen=Sum("fee_fen"))
    received = fees_received(scope).aggregate(fen=Sum("amount_fen"))["fen"] or 0
    if facts is None:
        facts = claim_facts(scope)
    claims = {
        "n": sum(f["claims"] for f in facts),
        "fen": sum(f["amount_fen"] or 0 for f in facts),
        "paid_n": sum(f["claims"] for f in facts if f["status"] == ClaimStatus.PAID),
        "paid": sum(f["amount_fen"] or 0 for f in facts if f["status"] == ClaimStatus.PAID),
    }
    adj = adjustment_totals(scope)
    rec = adj.get(AdjustmentKind.RECOVERY, {})
    top = adj.get(AdjustmentKind.TOP_UP, {})
    pos = {
        "members": due["n"] or 0,
        "due_fen": due["fen"] or 0,
        "received_fen": received,
        "approved_claims": claims["n"] or 0,
        "approved_fen": claims["fen"] or 0,
        "paid_claims": claims["paid_n"] or 0,
        "paid_fen": claims["paid"] or 0,
        "recoveries_fen": rec.get("fen") or 0,
        "recoveries_settled_fen": rec.get("settled") or 0,
        "top_ups_fen": top.get("fen") or 0,
        "top_ups_settled_fen": top.get("settled") or 0,
    }
    pos["outstanding_fen"] = pos["due_fen"] - pos["received_fen"]
    pos["unpaid_fen"] = pos["approved_fen"] - pos["paid_fen"]
    pos["balance_fen"] = (
        pos["received_fen"]
        - pos["paid_fen"]
        - pos["top_ups_settled_fen"]
        + pos["recoveries_settled_fen"]
    )
    pos["loss_ratio"] = ratio(pos["approved_fen"], pos["received_fen"])
    return pos


def fund_balance() -> dict:
    """The fund over every scheme year, in fen: fees received, claims paid, top-ups paid,
    recoveries collected, balance = received − paid − top-ups + recoveries. What a payment
    batch is compared with (a batch may pay claims of several years)."""
    received = FeeReceipt.objects.aggregate(fen=Sum("amount_fen"))["fen"] or 0
    # Every year's paid claims: the ClaimFacts rollup (a few thousand rows), not the claims.
    paid = ClaimFacts.objects.filter(status=ClaimStatus.PAID).aggregate(fen=Sum("amount_fen"))
    paid = paid["fen"] or 0
    adj = adjustment_totals(None)
    recovered = adj.get(AdjustmentKind.RECOVERY, {}).get("settled") or 0
    topped = adj.get(AdjustmentKind.TOP_UP, {}).get("settled") or 0
    return {
        "received_fen": received,
        "paid_fen": paid,
        "top_ups_settled_fen": topped,
        "recoveries_settled_fen": recovered,
        "balance_fen": received - paid - topped + recovered,
    }


SUMMARY_LINES = (
    ("due_fen", "应缴会费"),
    ("received_fen", "已到账会费"),
    ("outstanding_fen", "未缴会费"),
    ("approved_fen", "核准互助金（已核准 + 已发放）"),
    ("paid_fen", "其中：已发放"),
    ("unpaid_fen", "其中：待发放"),
    ("recoveries_fen", "追回款（应追回）"),
    ("recoveries_settled_fen", "追回款（已收回）"),
    ("top_ups_fen", "补发款（应补发）"),
    ("top_ups_settled_fen", "补发款（已补发）"),
    ("balance_fen", "结余（已到账 − 已发放 − 已补发 + 已追回）"),
)


def report_fund(scope: Scope, by: str | None = None) -> Report:
    facts = claim_facts(scope)  # the claims read once for every table below
    pos = fund_position(scope, facts)
    summary = Table(
        key="summary",
        title="互助金收支表",
        columns=[
            Column("item", "代码"),
            Column("label", "项目"),
            Column("amount_fen", "金额（元）", "money"),
        ],
        rows=[{"item": k, "label": label, "amount_fen": pos[k]} for k, label in SUMMARY_LINES],
    )
    indicators = Table(
        key="indicators",
        title="指标",
        columns=[Column("item", "代码"), Column("label", "指标"), Column("value", "数值", "ratio")],
        rows=[
            {
                "item": "loss_ratio",
                "label": "赔付率（核准互助金 ÷ 已到账会费）",
                "value": pos["loss_ratio"],
            },
            {
                "item": "collection_ratio",
                "label": "会费到账率（已到账 ÷ 应缴）",
                "value": ratio(pos["received_fen"], pos["due_fen"]),
            },
            {
                "item": "paid_ratio",
                "label": "发放率（已发放 ÷ 核准）",
                "value": ratio(pos["paid_fen"], pos["approved_fen"]),
            },
        ],
    )

    # By union: fee position and payouts of each union (the claim's union at claim time).
    due = {
        r["union_id"]: r
        for r in enrolled(scope)
        .values("union_id")
        .annotate(n=Count("*"), fen=Sum("fee_fen"))
        .order_by()
    }
    got = {
        r["union_id"]: r["fen"] or 0
        for r in fees_received(scope).values("union_id").annotate(fen=Sum("amount_fen")).order_by()
    }
    paid: dict[int, dict] = {}
    for f in facts:
        entry = paid.setdefault(f["union_id"], {"n": 0, "fen": 0})
        entry["n"] += f["claims"]
        entry["fen"] += f["amount_fen"] or 0
    ids = set(due) | set(got) | set(paid)
    labels = union_labels(ids)
    union_rows = []
    for uid in ids:
        row = {
            "union": labels[uid][0],
            "label": labels[uid][1],
            "members": due.get(uid, {}).get("n", 0),
            "due_fen": due.get(uid, {}).get("fen") or 0,
            "received_fen": got.get(uid, 0),
            "approved_fen": paid.get(uid, {}).get("fen") or 0,
        }
        row["outstanding_fen"] = row["due_fen"] - row["received_fen"]
        row["loss_ratio"] = ratio(row["approved_fen"], row["received_fen"])
        union_rows.append(row)
    union_rows.sort(key=lambda r: (-r["approved_fen"], r["union"]))
    by_union = Table(
        key="by_union",
        title="按工会：会费与互助金",
        columns=[
            Column("union", "代码"),
            Column("label", "工会"),
            Column("members", "参保人数", "int"),
            Column("due_fen", "应缴（元）", "money"),
            Column("received_fen", "已到账（元）", "money"),
            Column("outstanding_fen", "未缴（元）", "money"),
            Column("approved_fen", "核准互助金（元）", "money"),
            Column("loss_ratio", "赔付率", "ratio"),
        ],
        rows=union_rows,
        total={
            "union": "",
            "label": "合计",
            "members": pos["members"],
            "due_fen": pos["due_fen"],
            "received_fen": pos["received_fen"],
            "outstanding_fen": pos["outstanding_fen"],
            "approved_fen": pos["approved_fen"],
            "loss_ratio": pos["loss_ratio"],
        },
        chart=Chart(
            "bar", "label", ("received_fen", "approved_fen"), "各工会会费到账与核准互助金", True
        ),
    )

    # By month: fees received (day received), claims approved (approval), claims paid.
    months: dict[str, dict] = {}

    def month(key):
        return months.setdefault(
            key or "", {"month": key or "", "received_fen": 0, "approved_fen": 0, "paid_fen": 0}
        )

    for r in (
        fees_received(scope)
        .annotate(m=DateMonth("received_on"))
        .values("m")
        .annotate(fen=Sum("amount_fen"))
        .order_by()
    ):
        month(r["m"])["received_fen"] += r["fen"] or 0
    for f in facts:
        month(f["approved_month"])["approved_fen"] += f["amount_fen"] or 0
        if f["status"] == ClaimStatus.PAID:
            month(f["paid_month"])["paid_fen"] += f["amount_fen"] or 0
    month_rows = [months[k] for k in sorted(months)]
    by_month = Table(
        key="by_month",
        title="按月份：会费到账、核准与发放",
        columns=[
            Column("month", "月份"),
            Column("received_fen", "会费到账（元）", "money"),
            Column("approved_fen", "核准互助金（元）", "money"),
            Column("paid_fen", "已发放（元）", "money"),
        ],
        rows=month_rows,
        total={
            "month": "合计",
            "received_fen": sum(r["received_fen"] for r in month_rows),
            "approved_fen": sum(r["approved_fen"] for r in month_rows),
            "paid_fen": sum(r["paid_fen"] for r in month_rows),
        },
        chart=Chart("line", "month", ("received_fen", "approved_fen", "paid_fen"), "每月收支"),
    )

    benefit_rows = payout_rows(scope, "benefit", facts=facts)
    for r in benefit_rows:
        r["loss_ratio"] = ratio(r["amount_fen"], pos["received_fen"])
    by_benefit = Table(
        key="by_benefit",
        title="按保障项目：核准互助金与赔付率",
        columns=[
            Column("key", "代码"),
            Column("label", "保障项目"),
            Column("claims", "笔数", "int"),
            Column("amount_fen", "金额（元）", "money"),
            Column("loss_ratio", "赔付率", "ratio"),
        ],
        rows=benefit_rows,
        total={
            "key": "",
            "label": "合计",
            "claims": sum(r["claims"] for r in benefit_rows),
            "amount_fen": pos["approved_fen"],
            "loss_ratio": pos["loss_ratio"],
        },
        chart=Chart("bar", "label", ("loss_ratio",), "各保障项目赔付率"),
    )
    return Report(
        name="fund",
        title="互助金收支表",
        year=scope.year,
        by=None,
        union_code=scope.union_code,
        tables=[summary, indicators, by_union, by_month, by_benefit],
        note="赔付率 = 核准互助金 ÷ 已到账会费。追回与补发按调整项各计一次：已追回的金额只计入“追回款（已收回）”。",
    )


def report_enrollment(scope: Scope, by: str | None = None) -> Report:
    this_year = enrolled(scope)
    renewal = renewal_exists(year_ref=scope.year)
    rows: dict[int, dict] = {}

    def row(uid):
        return rows.setdefault(
            uid,
            {"enrolled": 0, "new": 0, "renewal": 0, "previous": 0, "no_card": 0, "card_failed": 0},
        )

    for r in (
        this_year.annotate(is_renewal=renewal)
        .values("union_id", "is_renewal")
        .annotate(n=Count("id"))
        .order_by()
    ):
        x = row(r["union_id"])
        x["enrolled"] += r["n"]
        x["renewal" if r["is_renewal"] else "new"] += r["n"]
    for r in (
        scope.unions(
            Enrollment.objects.filter(scheme_year__year=scope.year - 1, withdrawn_at__isnull=True)
        )
        .values("union_id")
        .annotate(n=Count("id"))
        .order_by()
    ):
        row(r["union_id"])["previous"] += r["n"]
    for r in no_card_enrollments(scope).values("union_id").annotate(n=Count("id")).order_by():
        row(r["union_id"])["no_card"] += r["n"]
    for r in (
        claims_of(scope)
        .filter(status=ClaimStatus.APPROVED, payment_failed_at__isnull=False)
        .values("union_id")
        .annotate(n=Count("member_id", distinct=True))
        .order_by()
    ):
        row(r["union_id"])["card_failed"] += r["n"]
    labels = union_labels(rows)

    def finish(x: dict) -> dict:
        x["growth"] = ratio(x["enrolled"] - x["previous"], x["previous"])
        x["renewal_ratio"] = ratio(x["renewal"], x["previous"])
        return x

    out = [
        finish({"union": labels[uid][0], "label": labels[uid][1], **v}) for uid, v in rows.items()
    ]
    out.sort(key=lambda r: (-r["enrolled"], r["union"]))
    keys = ("enrolled", "new", "renewal", "previous", "no_card", "card_failed")
    total = finish({"union": "", "label": "合计", **{k: sum(r[k] for r in out) for k in keys}})
    table = Table(
        key="by_union",
        title=f"{scope.year}年度参保，与{scope.year - 1}年度比较（按工会）",
        columns=[
            Column("union", "代码"),
            Column("label", "工会"),
            Column("enrolled", "参保人数", "int"),
            Column("new", "新参保", "int"),
            Column("renewal", "续保", "int"),
            Column("previous", f"{scope.year - 1}年度参保", "int"),
            Column("growth", "增长率", "ratio"),
            Column("renewal_ratio", "续保率", "ratio"),
            Column("no_card", "未登记银行卡", "int"),
            Column("card_failed", "银行卡发放失败待更新", "int"),
        ],
        rows=out,
        total=total,
        chart=Chart("stacked", "label", ("renewal", "new"), "各工会参保：续保与新参保", True),
    )
    return Report(
        name="enrollment",
        title="参保情况",
        year=scope.year,
        by="union",
        union_code=scope.union_code,
        tables=[table],
        note="续保 = 上一年度（经任一工会）参保的职工；续保率 = 续保人数 ÷ 上年度参保人数；增长率 = （本年度 − 上年度）÷ 上年度。"
        "未登记银行卡 = 本年度参保职工中未登记银行账号或开户行的；发放失败 = 有因银行卡发放失败、尚未重新发放的申请的职工。",
    )
