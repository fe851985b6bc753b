"""Role dashboards (工作台): pending work first, then the figures each role steers by.

`dashboard_for(user)` returns plain data for the staff home page: `pending` cards (what waits
for this user, oldest first where it matters), `figures` cards, and optional tables. Every
number is an aggregate in the database over indexes or rollups (the review-queue index, the
report index for the approved-unpaid totals, the partial claim_payment_failed and
member_no_card indexes, the covering (scheme year, union, withdrawn, fee) enrollment index, the
ClaimFacts rollup for the fund balance), so a dashboard answers in under 300 ms on a million
claims (benchmarks/reports.py; figures in docs/reports.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Count, Sum
from django.urls import reverse
from django.utils import timezone

from huzhu.claims.models import AdjustmentItem, AdjustmentKind, AdjustmentStatus, Claim
from huzhu.claims.models import ClaimStatus as S
from huzhu.enrollment.models import SchemeYear
from huzhu.enrollment.receipts import fee_positions
from huzhu.organizations.models import Role
from huzhu.organizations.selectors import union_visible_ids

from .base import Scope
from .claims_reports import QUEUES, queue_ages
from .fund_reports import enrolled, fund_balance, no_card_enrollments

__all__ = ["Card", "Dashboard", "dashboard_for"]


@dataclass
class Card:
    label: str
    count: int | None = None
    amount_fen: int | None = None
    url: str = ""
    note: str = ""
    urgent: bool = False
    unit: str = ""


@dataclass
class Dashboard:
    role: str
    year: int | None
    pending: list[Card] = field(default_factory=list)
    figures: list[Card] = field(default_factory=list)
    queues: list[dict] = field(default_factory=list)
    fund: dict | None = None


def _current_year(today):
    years = SchemeYear.objects.order_by("-year")
    return years.filter(start__lte=today, end__gte=today).first() or years.first()


def _scope(user, scheme_year, today) -> Scope:
    visible = union_visible_ids(user)
    return Scope(
        year=scheme_year.year,
        scheme_year_id=scheme_year.pk,
        union_ids=frozenset(visible) if visible is not None else None,
        today=today,
    )


def _url(name: str, query: str = "", *args) -> str:
    return reverse(name, args=args) + (f"?{query}" if query else "")


def _no_card(scope: Scope) -> int:
    return no_card_enrollments(scope).count()


def _queue_cards(queues: list[dict], keys, url: str) -> list[Card]:
    cards = []
    for q in queues:
        if q["queue"] not in keys:
            continue
        old = q["total"] - q["age_0-7"]
        cards.append(
            Card(
                QUEUES[q["queue"]],
                q["total"],
                q["amount_fen"] or None,
                url,
                note=f"其中等待超过7天 {old} 笔" if old else "",
                urgent=old > 0,
            )
        )
    return cards


def dashboard_for(user, *, today=None) -> Dashboard:
    """The dashboard of `user`'s role over the current scheme year, within its union scope."""
    today = today or timezone.localdate()
    role = "admin" if user.is_superuser else user.role
    scheme_year = _current_year(today)
    board = Dashboard(role=role, year=scheme_year.year if scheme_year else None)
    if scheme_year is None or role not in {
        Role.UNION_OPERATOR,
        Role.FEDERATION_REVIEWER,
        Role.FEDERATION_FINANCE,
        Role.ADMIN,
    }:
        return board
    scope = _scope(user, scheme_year, today)
    report = f"year={scheme_year.year}"

    if role == Role.FEDERATION_REVIEWER:
        board.queues = queue_ages(scope, payment=False)
        board.pending = _queue_cards(
            board.queues, ("federation_review", "returned"), _url("web:review_queue")
        )
        board.figures.append(Card("各环节办理时效", url=_url("web:report", report, "turnaround")))

    elif role == Role.UNION_OPERATOR:
        board.queues = queue_ages(scope, payment=False)
        board.pending = _queue_cards(board.queues, ("union_review",), _url("web:review_queue"))
        returned = (
            scope.unions(Claim.objects.filter(scheme_year_id=scope.scheme_year_id))
            .filter(status=S.RETURNED, filer="union_operator")
            .count()
        )
        if returned:
            board.pending.append(
                Card(
                    "本工会代办、被退回待补正",
                    returned,
                    url=_url("web:claim_list", "status=returned"),
                )
            )
        board.pending.append(
            Card(
                "参保职工未登记银行卡",
                _no_card(scope),
                url=_url("web:member_list", f"year={scheme_year.year}"),
                urgent=True,
            )
        )
        members = enrolled(scope).aggregate(n=Count("*"))
        positions = fee_positions(scheme_year=scheme_year, union_ids=scope.union_ids)
        outstanding = sum(max(p.outstanding_fen, 0) for p in positions.values())
        board.figures += [
            Card(
                f"{scheme_year.year}年度参保人数",
                members["n"] or 0,
                url=_url("web:member_list", f"year={scheme_year.year}"),
            ),
            Card("会费未缴（元）", amount_fen=outstanding, url=_url("web:fee_statements")),
        ]

    elif role in (Role.FEDERATION_FINANCE, Role.ADMIN):
        # Two reads of two indexes: the approved-unpaid totals from claim_report_facts alone
        # (payment_failed_at is not in it; asking both at once read 60,000 table rows), the
        # failed payments from the small claim_payment_failed.
        awaiting = Claim.objects.filter(status=S.APPROVED, amount_fen__gt=0)
        unpaid = awaiting.aggregate(n=Count("*"), fen=Sum("amount_fen"))
        failed = awaiting.filter(payment_failed_at__isnull=False).aggregate(
            failed=Count("*"), failed_fen=Sum("amount_fen")
        )
        unpaid.update(failed)
        positions = fee_positions(scheme_year=scheme_year)
        owing = [p for p in positions.values() if p.outstanding_fen > 0]
        recoveries = AdjustmentItem.objects.filter(
            status=AdjustmentStatus.OPEN, kind=AdjustmentKind.RECOVERY
        ).aggregate(n=Count("id"), fen=Sum("amount_fen"), settled=Sum("settled_amount_fen"))
        finance = [
            Card("已核准待发放", unpaid["n"], unpaid["fen"] or 0, _url("web:payment_queue")),
            Card(
                "发放失败待重发",
                unpaid["failed"],
                unpaid["failed_fen"] or 0,
                _url("web:payment_queue"),
                urgent=bool(unpaid["failed"]),
            ),
            Card(
                "参保职工未登记银行卡",
                _no_card(scope),
                url=_url("web:report", report, "enrollment"),
            ),
            Card(
                "会费未缴",
                len(owing),
                sum(p.outstanding_fen for p in owing),
                _url("web:fee_statements"),
                unit="个工会",
            ),
            Card(
                "追回款未结清",
                recoveries["n"],
                (recoveries["fen"] or 0) - (recoveries["settled"] or 0),
                _url("web:payment_adjustments"),
            ),
        ]
        if role == Role.FEDERATION_FINANCE:
            board.pending = finance
        else:
            board.fund = fund_balance()
            board.pending = [
                *_queue_cards(
                    queue_ages(scope, payment=False),
                    ("federation_review",),
                    _url("web:review_queue"),
                ),
                *finance[:2],
            ]
            board.figures = finance[2:]
    return board
