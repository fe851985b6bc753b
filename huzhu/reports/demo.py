"""Demo fee receipts (会费到账) so the fund report and dashboards have an income side.

For each scheme year and workplace union with enrollments and no receipt yet: most unions
paid in full (one or two payments), a few paid part, one paid nothing. Idempotent: a union
and year that already has a receipt is left alone.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from huzhu.enrollment.models import FeeReceipt, SchemeYear
from huzhu.enrollment.receipts import fee_positions, fee_receipt_add
from huzhu.organizations.models import Union


def run(*, stdout) -> None:
    today = timezone.localdate()
    added = 0
    for scheme_year in SchemeYear.objects.order_by("year"):
        positions = fee_positions(scheme_year=scheme_year)
        paid = set(
            FeeReceipt.objects.filter(scheme_year=scheme_year).values_list("union_id", flat=True)
        )
        unions = {u.id: u for u in Union.objects.filter(id__in=positions)}
        for n, (uid, pos) in enumerate(sorted(positions.items())):
            if uid in paid or not pos.due_fen or n % 7 == 6:
                continue  # already recorded, nothing due, or this union has not paid yet
            first_day = min(scheme_year.start - dt.timedelta(days=20) + dt.timedelta(days=n), today)
            parts = [pos.due_fen] if n % 3 else [pos.due_fen // 2, pos.due_fen - pos.due_fen // 2]
            if n % 5 == 4:
                parts = parts[:1] if len(parts) > 1 else [pos.due_fen * 3 // 5]  # paid part
            for k, amount in enumerate(parts):
                fee_receipt_add(
                    union=unions[uid],
                    scheme_year=scheme_year,
                    amount_fen=amount,
                    received_on=min(first_day + dt.timedelta(days=45 * k), today),
                    acting_user=None,
                    note="演示数据",
                )
                added += 1
    stdout.write(f"会费到账: 新增 {added} 笔")
