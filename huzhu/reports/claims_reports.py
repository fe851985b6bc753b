"""Reports over claims: payouts, zero-trip, turnaround, rejections, caps.

Plain functions of a Scope (year + union subtree); each returns a Report. Every figure is a
GROUP BY in the database; Python only labels and orders the few result rows (and turns the
turnaround histograms into percentiles).

Counts are COUNT(*), never COUNT(id): the claims' id is not in the `claim_report_facts`
index, and counting it made PostgreSQL read the million wide rows instead of the index.
"""

from __future__ import annotations

import datetime as dt

from django.db.models import (
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Subquery,
    Sum,
    Value,
    When,
)
from django.utils import timezone

from huzhu.claims.models import (
    AdjustmentItem,
    AdjustmentKind,
    Claim,
    ClaimFiler,
    ClaimStatus,
    ClaimTransition,
    MemberYearLedger,
)
from huzhu.enrollment.models import Enrollment
from huzhu.organizations.models import Union

from .base import (
    Chart,
    Column,
    Report,
    ReportError,
    Scope,
    Table,
    nearest_rank,
    ratio,
)
from .models import ClaimDays, ClaimFacts, ClaimHospitals

APPROVED = (ClaimStatus.APPROVED, ClaimStatus.PAID)  # 已核准 or 已发放: what the fund owes/paid
CHANNELS = {
    "auto": "免申即享",
    "onestop": "一站式结算",
    "online": "线上申请",
    "counter": "工会代办",
}
ZERO_TRIP = ("auto", "onestop")  # reached the member with no application

# The claim's channel (auto / onestop / online / counter) is worked out once, in SQL, by the
# rollups (rollup._CHANNEL): platform-created, settled at the cashier, filed by the member from
# the phone, or filed by the union operator at the counter.

PAYOUT_DIMENSIONS = {
    "benefit": "保障项目",
    "union": "工会",
    "month": "核准月份",
    "hospital": "医院",
    "channel": "受理渠道",
}


def claims_of(scope: Scope):
    """The scope's claims of the year (every status); callers filter further."""
    return scope.unions(Claim.objects.filter(scheme_year_id=scope.scheme_year_id))


def approved_claims(scope: Scope):
    return claims_of(scope).filter(status__in=APPROVED)


def adjustment_totals(scope: Scope | None) -> dict[str, dict]:
    """Recoveries and top-ups by kind: {kind: {"n", "fen", "settled"}} of the scope's claims
    (None: every year and union)."""
    items = AdjustmentItem.objects.all()
    if scope is not None:
        items = items.filter(claim__scheme_year_id=scope.scheme_year_id)
        if scope.union_ids is not None:
            items = items.filter(claim__union_id__in=scope.union_ids)
    return {
        r["kind"]: r
        for r in items.values("kind")
        .annotate(n=Count("*"), fen=Sum("amount_fen"), settled=Sum("settled_amount_fen"))
        .order_by()
    }


def union_labels(ids) -> dict[int, tuple[str, str]]:
    return {u.id: (u.code, u.name) for u in Union.objects.filter(id__in=set(ids) - {None})}


def benefit_labels(scope: Scope) -> dict[str, str]:
    from huzhu.plans.selectors import plan_version_current

    labels = {}
    version = plan_version_current(scope.year)
    if version is not None:
        from huzhu.plans.selectors import plan_from_version

        labels = {b.code: b.name for b in plan_from_version(version).benefits}
    return labels


# --- payouts ------------------------------------------------------------------------------


def claim_facts(scope: Scope) -> list[dict]:
    """The year's approved-or-paid claims per (union, benefit, status, channel, approval
    month, payment month): count and amount, from the `ClaimFacts` rollup (a few thousand
    rows kept by triggers on the claims; see rollup.py). Months are 'YYYY-MM' or ''."""
    rows = (
        scope.unions(ClaimFacts.objects.filter(scheme_year_id=scope.scheme_year_id))
        .values("union_id", "benefit_code", "status", "channel", "approved_month", "paid_month")
        .annotate(claims=Sum("claims"), amount_fen=Sum("amount_fen"))
        .order_by()
    )
    return [r for r in rows if r["claims"]]  # a key whose claims were all voided, say


_FACT_KEYS = {
    "benefit": "benefit_code",
    "union": "union_id",
    "month": "approved_month",
    "channel": "channel",
}


def _benefit_names(scope: Scope, codes) -> dict[str, str]:
    names = benefit_labels(scope)
    unknown = set(codes) - set(names)
    if unknown:  # a benefit no longer in the plan: its name as the claims carry it
        for r in (
            approved_claims(scope)
            .filter(benefit_code__in=unknown)
            .values("benefit_code", "benefit_name")
            .distinct()
            .order_by()
        ):
            names.setdefault(r["benefit_code"], r["benefit_name"])
    return names


def payout_rows(scope: Scope, by: str, *, facts: list[dict] | None = None) -> list[dict]:
    """[{key, label, claims, amount_fen}] of approved-or-paid claims grouped by `by`, from
    the rollups (`facts`, claim_facts' rows, when the caller has them already)."""
    if by not in PAYOUT_DIMENSIONS:
        raise ReportError(
            "bad_dimension",
            f"payouts 不支持按“{by}”分组；可选：{', '.join(PAYOUT_DIMENSIONS)}",
        )
    if by == "hospital":
        grouped = [
            r
            for r in scope.unions(
                ClaimHospitals.objects.filter(scheme_year_id=scope.scheme_year_id)
            )
            .values(k=F("hospital_name"))
            .annotate(claims=Sum("claims"), amount_fen=Sum("amount_fen"))
            .order_by()
            if r["claims"]
        ]
    else:
        sums: dict = {}
        for f in claim_facts(scope) if facts is None else facts:
            entry = sums.setdefault(f[_FACT_KEYS[by]], [0, 0])
            entry[0] += f["claims"]
            entry[1] += f["amount_fen"] or 0
        grouped = [{"k": k, "claims": v[0], "amount_fen": v[1]} for k, v in sums.items()]
    if by == "union":
        labels = union_labels(r["k"] for r in grouped)
    elif by == "benefit":
        names = _benefit_names(scope, [r["k"] for r in grouped])
    rows = []
    for r in grouped:
        key = r["k"]
        if by == "union":
            key, label = labels[r["k"]]
        elif by == "benefit":
            label = names.get(key) or key
        elif by == "channel":
            label = CHANNELS.get(key, key)
        else:
            key = key or ""
            label = key or "（未填）"
        rows.append(
            {"key": key, "label": label, "claims": r["claims"], "amount_fen": r["amount_fen"] or 0}
        )
    if by == "month":
        rows.sort(key=lambda r: r["key"])
    else:
        rows.sort(key=lambda r: (-r["amount_fen"], r["key"]))
    return rows


def report_payouts(scope: Scope, by: str | None = None) -> Report:
    by = by or "benefit"
    rows = payout_rows(scope, by)
    total = {
        "key": "",
        "label": "合计",
        "claims": sum(r["claims"] for r in rows),
        "amount_fen": sum(r["amount_fen"] for r in rows),
    }
    for r in rows:
        r["share"] = ratio(r["amount_fen"], total["amount_fen"])
    total["share"] = ratio(total["amount_fen"], total["amount_fen"])
    chart = (
        Chart("line", "label", ("amount_fen",), "每月核准金额")
        if by == "month"
        else Chart("pie", "label", ("amount_fen",), f"按{PAYOUT_DIMENSIONS[by]}的金额构成")
        if by in ("benefit", "channel")
        else Chart("bar", "label", ("amount_fen",), f"各{PAYOUT_DIMENSIONS[by]}核准金额", True)
    )
    table = Table(
        key=f"by_{by}",
        title=f"核准互助金（按{PAYOUT_DIMENSIONS[by]}）",
        columns=[
            Column("key", "代码"),
            Column("label", PAYOUT_DIMENSIONS[by]),
            Column("claims", "笔数", "int"),
            Column("amount_fen", "金额（元）", "money"),
            Column("share", "金额占比", "ratio"),
        ],
        rows=rows,
        total=total,
        chart=chart,
    )
    return Report(
        name="payouts",
        title="互助金核准支出",
        year=scope.year,
        by=by,
        union_code=scope.union_code,
        tables=[table],
        note="已核准或已发放的申请（作废、未通过不计）；月份按核准时间。",
    )


# --- zero-trip ----------------------------------------------------------------------------


def report_zero_trip(scope: Scope, by: str | None = None) -> Report:
    grouped = [
        {"month": f["approved_month"], "channel": f["channel"], **f} for f in claim_facts(scope)
    ]
    months: dict[str, dict] = {}
    by_channel = {c: {"claims": 0, "amount_fen": 0} for c in CHANNELS}
    for r in grouped:
        m = months.setdefault(
            r["month"] or "",
            {f"{g}_{k}": 0 for g in ("zero", "online", "counter") for k in ("claims", "fen")},
        )
        group = "zero" if r["channel"] in ZERO_TRIP else r["channel"]
        m[f"{group}_claims"] += r["claims"]
        m[f"{group}_fen"] += r["amount_fen"] or 0
        by_channel[r["channel"]]["claims"] += r["claims"]
        by_channel[r["channel"]]["amount_fen"] += r["amount_fen"] or 0

    def finish(row: dict) -> dict:
        claims = row["zero_claims"] + row["online_claims"] + row["counter_claims"]
        fen = row["zero_fen"] + row["online_fen"] + row["counter_fen"]
        row.update(
            claims=claims,
            amount_fen=fen,
            zero_claim_share=ratio(row["zero_claims"], claims),
            zero_amount_share=ratio(row["zero_fen"], fen),
        )
        return row

    rows = [finish({"month": k, **v}) for k, v in sorted(months.items())]
    sums = [f"{g}_{k}" for g in ("zero", "online", "counter") for k in ("claims", "fen")]
    total = finish({"month": "合计", **{k: sum(r[k] for r in rows) for k in sums}})
    monthly = Table(
        key="by_month",
        title="免申即享（自动 + 一站式）与线上、代办申请，按核准月份",
        columns=[
            Column("month", "月份"),
            Column("zero_claims", "免申即享笔数", "int"),
            Column("online_claims", "线上申请笔数", "int"),
            Column("counter_claims", "工会代办笔数", "int"),
            Column("zero_claim_share", "免申笔数占比", "ratio"),
            Column("zero_fen", "免申金额（元）", "money"),
            Column("online_fen", "线上金额（元）", "money"),
            Column("counter_fen", "代办金额（元）", "money"),
            Column("zero_amount_share", "免申金额占比", "ratio"),
        ],
        rows=rows,
        total=total,
        chart=Chart("line", "month", ("zero_claim_share", "zero_amount_share"), "免申即享占比"),
    )
    total_claims = sum(v["claims"] for v in by_channel.values())
    total_fen = sum(v["amount_fen"] for v in by_channel.values())
    channel_rows = [
        {
            "channel": c,
            "label": CHANNELS[c],
            "claims": v["claims"],
            "amount_fen": v["amount_fen"],
            "claim_share": ratio(v["claims"], total_claims),
            "amount_share": ratio(v["amount_fen"], total_fen),
        }
        for c, v in by_channel.items()
    ]
    channels = Table(
        key="by_channel",
        title="按受理渠道",
        columns=[
            Column("channel", "代码"),
            Column("label", "渠道"),
            Column("claims", "笔数", "int"),
            Column("claim_share", "笔数占比", "ratio"),
            Column("amount_fen", "金额（元）", "money"),
            Column("amount_share", "金额占比", "ratio"),
        ],
        rows=channel_rows,
        total={
            "channel": "",
            "label": "合计",
            "claims": total_claims,
            "amount_fen": total_fen,
            "claim_share": ratio(total_claims, total_claims),
            "amount_share": ratio(total_fen, total_fen),
        },
        chart=Chart("pie", "label", ("claims",), "受理渠道构成（笔数）"),
    )
    return Report(
        name="zero-trip",
        title="跑零次：免申即享占比",
        year=scope.year,
        by="month",
        union_code=scope.union_code,
        tables=[monthly, channels],
        note="已核准或已发放的申请。免申即享 = 平台自动受理 + 医院一站式结算；线上 = 职工手机申请；代办 = 工会经办人代为申请。",
    )


# --- turnaround ---------------------------------------------------------------------------

AGE_BANDS = (
    ("0-7", 0, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    ("31-60", 31, 60),
    ("60+", 61, None),
)
QUEUES = {
    "union_review": "待工会初审",
    "federation_review": "待市总审核",
    "returned": "已退回待补正",
    "payment": "已核准待发放",
}


def _percentiles(hist: dict[str, list[tuple[int, int]]], channel: str) -> dict:
    values = sorted(hist.get(channel, []))
    n = sum(c for _, c in values)
    return {
        "n": n,
        "median": nearest_rank(values, 50),
        "p90": nearest_rank(values, 90),
        "max": values[-1][0] if values else None,
    }


def report_turnaround(scope: Scope, by: str | None = None) -> Report:
    to_approval: dict[str, list] = {}
    to_payment: dict[str, list] = {}
    # Per (channel, days) the count, to approval ('a') and to payment ('p'): the ClaimDays
    # rollup (approved or paid claims with a discharge date and an approval time).
    for r in (
        scope.unions(ClaimDays.objects.filter(scheme_year_id=scope.scheme_year_id))
        .values("channel", "kind", "days")
        .annotate(n=Sum("claims"))
        .order_by()
    ):
        if not r["n"]:
            continue
        hist = to_approval if r["kind"] == "a" else to_payment
        hist.setdefault(r["channel"], []).append((r["days"], r["n"]))

    def collapse(hist):
        for channel, values in hist.items():
            out: dict[int, int] = {}
            for d, n in values:
                out[d] = out.get(d, 0) + n
            hist[channel] = sorted(out.items())

    collapse(to_approval)
    collapse(to_payment)

    def merged(hist):
        out: dict[int, int] = {}
        for values in hist.values():
            for d, n in values:
                out[d] = out.get(d, 0) + n
        return {"all": sorted(out.items())}

    rows = []
    for channel in (*CHANNELS, "all"):
        a = _percentiles(merged(to_approval) if channel == "all" else to_approval, channel)
        p = _percentiles(merged(to_payment) if channel == "all" else to_payment, channel)
        rows.append(
            {
                "channel": channel,
                "label": CHANNELS.get(channel, "全部"),
                "approved": a["n"],
                "approve_median": a["median"],
                "approve_p90": a["p90"],
                "approve_max": a["max"],
                "paid": p["n"],
                "pay_median": p["median"],
                "pay_p90": p["p90"],
                "pay_max": p["max"],
            }
        )
    speed = Table(
        key="speed",
        title="出院到核准、到发放的天数（按受理渠道）",
        columns=[
            Column("channel", "代码"),
            Column("label", "渠道"),
            Column("approved", "已核准笔数", "int"),
            Column("approve_median", "核准 中位数（天）", "days"),
            Column("approve_p90", "核准 P90（天）", "days"),
            Column("approve_max", "核准 最长（天）", "days"),
            Column("paid", "已发放笔数", "int"),
            Column("pay_median", "发放 中位数（天）", "days"),
            Column("pay_p90", "发放 P90（天）", "days"),
            Column("pay_max", "发放 最长（天）", "days"),
        ],
        rows=rows[:-1],
        total=rows[-1],
        chart=Chart(
            "bar",
            "label",
            ("approve_median", "approve_p90", "pay_median", "pay_p90"),
            "出院到核准/发放天数",
        ),
    )
    waiting = Table(
        key="waiting",
        title="各环节等待中的申请（按已等待天数）",
        columns=[
            Column("queue", "代码"),
            Column("label", "环节"),
            *[Column(f"age_{b[0]}", f"{b[0]}天", "int") for b in AGE_BANDS],
            Column("total", "合计", "int"),
            Column("amount_fen", "金额（元）", "money"),
        ],
        rows=queue_ages(scope),
        chart=Chart(
            "stacked", "label", tuple(f"age_{b[0]}" for b in AGE_BANDS), "等待中的申请", True
        ),
    )
    waiting.total = {
        "queue": "",
        "label": "合计",
        **{
            c.key: sum(r[c.key] for r in waiting.rows)
            for c in waiting.columns
            if c.kind in ("int", "money")
        },
    }
    return Report(
        name="turnaround",
        title="办理时效",
        year=scope.year,
        by="channel",
        union_code=scope.union_code,
        tables=[speed, waiting],
        note="天数 = 核准（发放）日期 − 出院日期；中位数与 P90 取最近秩（不插值）。等待天数从进入当前环节起算；待发放从核准起算。",
    )


def queue_ages(scope: Scope, *, now: dt.datetime | None = None, payment: bool = True) -> list[dict]:
    """Claims waiting in each queue by age band: one GROUP BY over the review-queue index
    plus one over the approved-unpaid claims (left out, with its row, when not `payment`:
    the dashboards show the review queues only)."""
    now = now or timezone.now()
    queue = Case(
        When(status=ClaimStatus.SUBMITTED, filer=ClaimFiler.MEMBER, then=Value("union_review")),
        When(status=ClaimStatus.RETURNED, then=Value("returned")),
        default=Value("federation_review"),
        output_field=CharField(),
    )

    def band(field):
        whens = []
        for name, lo, _hi in AGE_BANDS[:0:-1]:  # oldest band first: older than lo days
            whens.append(When(**{f"{field}__lte": now - dt.timedelta(days=lo)}, then=Value(name)))
        return Case(*whens, default=Value(AGE_BANDS[0][0]), output_field=CharField())

    counts: dict[str, dict] = {
        q: {
            "queue": q,
            "label": label,
            **{f"age_{b[0]}": 0 for b in AGE_BANDS},
            "total": 0,
            "amount_fen": 0,
        }
        for q, label in QUEUES.items()
        if payment or q != "payment"
    }
    review = (
        claims_of(scope)
        .filter(
            status__in=[ClaimStatus.SUBMITTED, ClaimStatus.UNION_REVIEWED, ClaimStatus.RETURNED]
        )
        .annotate(queue=queue, band=band("status_changed_at"))
        .values("queue", "band")
        .annotate(n=Count("*"), fen=Sum("amount_fen"))
        .order_by()
    )
    payment_rows = (
        claims_of(scope)
        .filter(status=ClaimStatus.APPROVED, amount_fen__gt=0)
        .annotate(queue=Value("payment", output_field=CharField()), band=band("approved_at"))
        .values("queue", "band")
        .annotate(n=Count("*"), fen=Sum("amount_fen"))
        .order_by()
    )
    for r in [*review, *(payment_rows if payment else [])]:
        row = counts[r["queue"]]
        row[f"age_{r['band']}"] += r["n"]
        row["total"] += r["n"]
        row["amount_fen"] += r["fen"] or 0
    return list(counts.values())


# --- rejections ---------------------------------------------------------------------------


def report_rejections(scope: Scope, by: str | None = None) -> Report:
    steps = (
        ClaimTransition.objects.filter(
            to_status__in=[ClaimStatus.REJECTED, ClaimStatus.RETURNED],
            claim__scheme_year_id=scope.scheme_year_id,
        )
        .values("to_status", "reason")
        .annotate(n=Count("*"), claims=Count("claim_id", distinct=True))
        .order_by()
    )
    if scope.union_ids is not None:
        steps = steps.filter(claim__union_id__in=scope.union_ids)
    rows = [
        {
            "kind": r["to_status"],
            "label": "未通过" if r["to_status"] == ClaimStatus.REJECTED else "退回",
            "reason": (r["reason"] or "").strip() or "（未填写原因）",
            "times": r["n"],
            "claims": r["claims"],
        }
        for r in steps
    ]
    # Same reason written twice (trailing spaces) is one row.
    merged: dict[tuple, dict] = {}
    for r in rows:
        m = merged.setdefault((r["kind"], r["reason"]), {**r, "times": 0, "claims": 0})
        m["times"] += r["times"]
        m["claims"] += r["claims"]
    rows = sorted(merged.values(), key=lambda r: (r["kind"], -r["times"], r["reason"]))
    reasons = Table(
        key="reasons",
        title="未通过与退回，按原因",
        columns=[
            Column("kind", "代码"),
            Column("label", "结果"),
            Column("reason", "原因"),
            Column("times", "次数", "int"),
            Column("claims", "申请数", "int"),
        ],
        rows=rows,
        total={
            "kind": "",
            "label": "合计",
            "reason": "",
            "times": sum(r["times"] for r in rows),
            "claims": sum(r["claims"] for r in rows),
        },
        chart=Chart("bar", "reason", ("times",), "未通过与退回原因", True),
    )
    voided = (
        claims_of(scope)
        .filter(status=ClaimStatus.VOID)
        .values("status_reason")
        .annotate(n=Count("*"), fen=Sum("amount_fen"))
        .order_by()
    )
    adj = adjustment_totals(scope)
    reversal_rows = [
        {
            "kind": "void",
            "label": "作废的申请",
            "reason": (r["status_reason"] or "").strip() or "（未填写原因）",
            "count": r["n"],
            "amount_fen": r["fen"] or 0,
            "settled_fen": None,
        }
        for r in sorted(voided, key=lambda r: -r["n"])
    ]
    for kind, label in (
        (AdjustmentKind.RECOVERY, "追回（已发放后冲正或减少）"),
        (AdjustmentKind.TOP_UP, "补发"),
    ):
        r = adj.get(kind, {})
        reversal_rows.append(
            {
                "kind": str(kind),
                "label": label,
                "reason": "",
                "count": r.get("n", 0),
                "amount_fen": r.get("fen") or 0,
                "settled_fen": r.get("settled") or 0,
            }
        )
    reversals = Table(
        key="reversals",
        title="冲正：作废的申请、追回与补发",
        columns=[
            Column("kind", "代码"),
            Column("label", "类别"),
            Column("reason", "原因"),
            Column("count", "笔数", "int"),
            Column("amount_fen", "金额（元）", "money"),
            Column("settled_fen", "已结清（元）", "money"),
        ],
        rows=reversal_rows,
    )
    return Report(
        name="rejections",
        title="未通过、退回与冲正",
        year=scope.year,
        by="reason",
        union_code=scope.union_code,
        tables=[reasons, reversals],
        note="次数按每一次退回/未通过计（同一申请退回两次计两次）；作废申请的金额是其作废前的核定金额。",
    )


# --- caps ---------------------------------------------------------------------------------


def report_caps(scope: Scope, by: str | None = None, *, limit: int = 20) -> Report:
    from huzhu.plans.selectors import PlanNotLoaded, plan_for_year

    try:
        cap_fen = plan_for_year(scope.year).inpatient.cap_fen
    except PlanNotLoaded:
        cap_fen = None
    union_of = Subquery(
        Enrollment.objects.filter(
            member_id=OuterRef("member_id"),
            scheme_year_id=scope.scheme_year_id,
            withdrawn_at__isnull=True,
        ).values("union_id")[:1],
        output_field=IntegerField(),
    )
    capped_rows: list[dict] = []
    if cap_fen:
        ledgers = MemberYearLedger.objects.filter(
            scheme_year_id=scope.scheme_year_id, paid_toward_cap_fen__gte=cap_fen
        )
        if scope.union_ids is not None:
            # A semi-join on the scope's enrollments (one live enrollment per member and
            # year), not a filter on the per-row union subquery below: that one ran for every
            # capped member of the year (8.5 s for a township at 1M claims).
            ledgers = ledgers.filter(
                member_id__in=scope.unions(
                    Enrollment.objects.filter(
                        scheme_year_id=scope.scheme_year_id, withdrawn_at__isnull=True
                    )
                ).values("member_id")
            )
        found = list(
            ledgers.annotate(union_id=union_of)
            .select_related("member")
            .order_by("-paid_toward_cap_fen", "member_id")
        )
        labels = union_labels(x.union_id for x in found)
        capped_rows = [
            {
                "member": x.member.name,
                "id_number": x.member.id_number_masked,
                "union": labels.get(x.union_id, ("", ""))[1],
                "paid_fen": x.paid_toward_cap_fen,
                "cap_fen": cap_fen,
            }
            for x in found
        ]
    capped = Table(
        key="capped",
        title="住院互助已达封顶线的职工"
        + (f"（封顶线 {cap_fen // 100:,} 元）" if cap_fen else "（本年度方案未设封顶线）"),
        columns=[
            Column("member", "姓名"),
            Column("id_number", "身份证号"),
            Column("union", "工会"),
            Column("paid_fen", "已计入封顶（元）", "money"),
            Column("cap_fen", "封顶线（元）", "money"),
        ],
        rows=capped_rows,
        total={
            "member": f"{len(capped_rows)}人",
            "paid_fen": sum(r["paid_fen"] for r in capped_rows),
        },
    )
    # The largest: top `limit` of each status (a backward range of the (status, scheme year,
    # amount, union …) index each, stopping after `limit` rows of the scope), merged; one sort
    # over the year's claims otherwise. For a subtree the union test is written `union_id + 0`
    # so that the databases do not pick the (union, status) index instead and sort every
    # claim of the subtree (1-2 s on SQLite at 1M claims).
    year_claims = Claim.objects.filter(scheme_year_id=scope.scheme_year_id)
    if scope.union_ids is not None:
        year_claims = year_claims.alias(
            union_plain=ExpressionWrapper(F("union_id") + 0, output_field=IntegerField())
        ).filter(union_plain__in=scope.union_ids)
    top = []
    for status in APPROVED:
        top += list(
            year_claims.filter(status=status)
            .select_related("member", "union")
            .only(
                "number",
                "benefit_code",
                "benefit_name",
                "amount_fen",
                "status",
                "hospital_name",
                "discharge_date",
                "member__name",
                "member__id_number_masked",
                "union__name",
            )
            .order_by("-amount_fen", "id")[:limit]
        )
    top = sorted(top, key=lambda c: (-c.amount_fen, c.id))[:limit]
    largest = Table(
        key="largest",
        title=f"金额最大的 {limit} 笔申请",
        columns=[
            Column("number", "申请编号"),
            Column("member", "姓名"),
            Column("id_number", "身份证号"),
            Column("union", "工会"),
            Column("benefit", "保障项目"),
            Column("hospital", "医院"),
            Column("discharge_date", "出院日期", "date"),
            Column("status", "状态"),
            Column("amount_fen", "金额（元）", "money"),
        ],
        rows=[
            {
                "number": c.number,
                "member": c.member.name,
                "id_number": c.member.id_number_masked,
                "union": c.union.name,
                "benefit": c.benefit_name or c.benefit_code,
                "hospital": c.hospital_name,
                "discharge_date": c.discharge_date,
                "status": c.get_status_display(),
                "amount_fen": c.amount_fen,
            }
            for c in top
        ],
        chart=Chart("bar", "number", ("amount_fen",), "金额最大的申请", True),
    )
    lump = (
        approved_claims(scope)
        .exclude(benefit_code="inpatient")
        .values("benefit_code", "benefit_name")
        .annotate(
            members=Count("member_id", distinct=True), fen=Sum("amount_fen"), top=Max("amount_fen")
        )
        .order_by("benefit_code")
    )
    lumps = Table(
        key="lump_sums",
        title="一次性互助：已享受的职工",
        columns=[
            Column("benefit", "保障项目"),
            Column("members", "人数", "int"),
            Column("amount_fen", "金额（元）", "money"),
        ],
        rows=[
            {
                "benefit": r["benefit_name"] or r["benefit_code"],
                "members": r["members"],
                "amount_fen": r["fen"] or 0,
            }
            for r in lump
        ],
    )
    return Report(
        name="caps",
        title="封顶与大额",
        year=scope.year,
        by=None,
        union_code=scope.union_code,
        tables=[capped, largest, lumps],
        note="已计入封顶 = 成员年度台账中计入住院封顶线的金额；大额按已核准或已发放的金额排序。",
    )


__all__ = [
    "APPROVED",
    "CHANNELS",
    "PAYOUT_DIMENSIONS",
    "adjustment_totals",
    "approved_claims",
    "claim_facts",
    "claims_of",
    "payout_rows",
    "queue_ages",
    "report_caps",
    "report_payouts",
    "report_rejections",
    "report_turnaround",
    "report_zero_trip",
]
