"""Every report's figures against an independent computation in plain Python over the same
fixture rows (tests/reports/conftest.py) — never through the reports' own queries."""

import datetime as dt
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone

from huzhu.claims.models import AdjustmentItem, Claim, ClaimTransition
from huzhu.enrollment.models import Enrollment, FeeReceipt
from huzhu.members.models import Member
from huzhu.organizations.selectors import union_descendant_ids
from huzhu.reports.base import ReportError
from huzhu.reports.registry import report_make

pytestmark = pytest.mark.django_db
APPROVED = {"approved", "paid"}


def _claims(year=2026, union_ids=None):
    out = [c for c in Claim.objects.select_related("scheme_year") if c.scheme_year.year == year]
    return [c for c in out if union_ids is None or c.union_id in union_ids]


def _channel(c):
    if c.source in ("auto", "onestop"):
        return c.source
    return "counter" if c.filer == "union_operator" else "online"


def _month(when):
    return timezone.localtime(when).strftime("%Y-%m")


def _ratio(a, b):
    if not b:
        return None
    return (Decimal(a) / Decimal(b)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


@pytest.mark.parametrize("by", ["benefit", "union", "month", "hospital", "channel"])
def test_payouts_by_each_dimension(scheme, by):
    expected = defaultdict(lambda: [0, 0])
    for c in _claims():
        if c.status not in APPROVED:
            continue
        key = {
            "benefit": c.benefit_code,
            "union": c.union.code,
            "month": _month(c.approved_at),
            "hospital": c.hospital_name,
            "channel": _channel(c),
        }[by]
        expected[key][0] += 1
        expected[key][1] += c.amount_fen
    report = report_make("payouts", year=2026, by=by)
    table = report.tables[0]
    got = {r["key"]: [r["claims"], r["amount_fen"]] for r in table.rows}
    assert got == dict(expected)
    assert table.total["claims"] == sum(v[0] for v in expected.values())
    assert table.total["amount_fen"] == sum(v[1] for v in expected.values())


def test_month_of_approval_is_taken_in_shanghai_time(scheme):
    rows = {r["key"]: r for r in report_make("payouts", year=2026, by="month").tables[0].rows}
    edge = scheme["claims"][0]
    assert edge.approved_at.astimezone(dt.UTC).strftime("%Y-%m") == "2026-03"
    assert "2026-04" in rows  # counted in April, as the federation's calendar says


def test_payouts_scoped_to_a_union_subtree(scheme, tree):
    ids = union_descendant_ids([tree["town"].id])
    expected = sum(c.amount_fen for c in _claims(union_ids=ids) if c.status in APPROVED)
    report = report_make("payouts", year=2026, union_code="T01", by="union")
    assert report.tables[0].total["amount_fen"] == expected
    assert {r["key"] for r in report.tables[0].rows} <= {"WA", "WA2"}


def test_fund_position(scheme):
    y = scheme["year"]
    due = sum(e.fee_fen for e in Enrollment.objects.filter(scheme_year=y, withdrawn_at=None))
    received = sum(r.amount_fen for r in FeeReceipt.objects.filter(scheme_year=y))
    approved = sum(c.amount_fen for c in _claims() if c.status in APPROVED)
    paid = sum(c.amount_fen for c in _claims() if c.status == "paid")
    items = list(AdjustmentItem.objects.filter(claim__scheme_year=y))
    rec = sum(i.settled_amount_fen for i in items if i.kind == "recovery")
    top = sum(i.settled_amount_fen for i in items if i.kind == "top_up")
    report = report_make("fund", year=2026)
    s = {r["item"]: r["amount_fen"] for r in report.table("summary").rows}
    assert s["due_fen"] == due and s["received_fen"] == received
    assert s["outstanding_fen"] == due - received
    assert s["approved_fen"] == approved and s["paid_fen"] == paid
    assert s["unpaid_fen"] == approved - paid
    # Recoveries and top-ups counted once each: 10,000 + 5,000 collected, 7,000 topped up.
    assert (s["recoveries_settled_fen"], s["top_ups_settled_fen"]) == (15_000, 7_000) == (rec, top)
    assert s["recoveries_fen"] == 35_000
    assert s["balance_fen"] == received - paid - top + rec
    ind = {r["item"]: r["value"] for r in report.table("indicators").rows}
    assert ind["loss_ratio"] == _ratio(approved, received)


def test_fund_by_union_month_and_benefit(scheme):
    y = scheme["year"]
    report = report_make("fund", year=2026)
    by_union = {r["union"]: r for r in report.table("by_union").rows}
    for code in ("WA", "WA2", "WB"):
        due = sum(
            e.fee_fen
            for e in Enrollment.objects.filter(scheme_year=y, union__code=code, withdrawn_at=None)
        )
        got = sum(r.amount_fen for r in FeeReceipt.objects.filter(scheme_year=y, union__code=code))
        approved = sum(
            c.amount_fen for c in _claims() if c.status in APPROVED and c.union.code == code
        )
        row = by_union[code]
        assert (row["due_fen"], row["received_fen"], row["approved_fen"]) == (due, got, approved)
        assert row["outstanding_fen"] == due - got
        assert row["loss_ratio"] == _ratio(approved, got)
    months = defaultdict(lambda: [0, 0, 0])
    for r in FeeReceipt.objects.filter(scheme_year=y):
        months[r.received_on.strftime("%Y-%m")][0] += r.amount_fen
    for c in _claims():
        if c.status in APPROVED:
            months[_month(c.approved_at)][1] += c.amount_fen
        if c.status == "paid":
            months[_month(c.paid_at)][2] += c.amount_fen
    got = {
        r["month"]: [r["received_fen"], r["approved_fen"], r["paid_fen"]]
        for r in report.table("by_month").rows
    }
    assert got == dict(months)
    assert list(got) == sorted(got)
    received = sum(r.amount_fen for r in FeeReceipt.objects.filter(scheme_year=y))
    for r in report.table("by_benefit").rows:
        amount = sum(
            c.amount_fen for c in _claims() if c.status in APPROVED and c.benefit_code == r["key"]
        )
        assert r["amount_fen"] == amount
        assert r["loss_ratio"] == _ratio(amount, received)


def test_zero_trip_shares_by_month(scheme):
    months = defaultdict(Counter)
    for c in _claims():
        if c.status not in APPROVED:
            continue
        group = {"auto": "zero", "onestop": "zero"}.get(_channel(c), _channel(c))
        months[_month(c.approved_at)][group + "_claims"] += 1
        months[_month(c.approved_at)][group + "_fen"] += c.amount_fen
    report = report_make("zero-trip", year=2026)
    rows = {r["month"]: r for r in report.table("by_month").rows}
    assert set(rows) == set(months)
    for m, exp in months.items():
        row = rows[m]
        for k in ("zero_claims", "online_claims", "counter_claims", "zero_fen", "online_fen"):
            assert row[k] == exp[k], (m, k)
        n = exp["zero_claims"] + exp["online_claims"] + exp["counter_claims"]
        fen = exp["zero_fen"] + exp["online_fen"] + exp["counter_fen"]
        assert row["zero_claim_share"] == _ratio(exp["zero_claims"], n)
        assert row["zero_amount_share"] == _ratio(exp["zero_fen"], fen)
    channels = {r["channel"]: r["claims"] for r in report.table("by_channel").rows}
    assert channels == {
        k: sum(1 for c in _claims() if c.status in APPROVED and _channel(c) == k)
        for k in ("auto", "onestop", "online", "counter")
    }


def _nearest_rank(values, p):
    values = sorted(values)
    if not values:
        return None
    k = -(-p * len(values) // 100)
    return values[max(1, k) - 1]


def test_turnaround_percentiles_by_channel(scheme):
    report = report_make("turnaround", year=2026)
    rows = {r["channel"]: r for r in report.table("speed").rows}
    rows["all"] = report.table("speed").total
    for channel in ("auto", "onestop", "online", "counter", "all"):
        mine = [
            c
            for c in _claims()
            if c.status in APPROVED and (channel == "all" or _channel(c) == channel)
        ]
        days = [(timezone.localtime(c.approved_at).date() - c.discharge_date).days for c in mine]
        pays = [
            (timezone.localtime(c.paid_at).date() - c.discharge_date).days
            for c in mine
            if c.status == "paid"
        ]
        row = rows[channel]
        assert row["approved"] == len(days)
        assert row["approve_median"] == _nearest_rank(days, 50)
        assert row["approve_p90"] == _nearest_rank(days, 90)
        assert row["approve_max"] == (max(days) if days else None)
        assert row["paid"] == len(pays)
        assert row["pay_median"] == _nearest_rank(pays, 50)
        assert row["pay_p90"] == _nearest_rank(pays, 90)


def test_turnaround_queues_by_age(scheme):
    now = timezone.now()
    expected = defaultdict(Counter)
    for c in _claims():
        if c.status in ("submitted", "union_reviewed", "returned"):
            queue = (
                "union_review"
                if c.status == "submitted" and c.filer == "member"
                else "returned"
                if c.status == "returned"
                else "federation_review"
            )
            since = c.status_changed_at
        elif c.status == "approved" and c.amount_fen > 0:
            queue, since = "payment", c.approved_at
        else:
            continue
        age = (now - since).days
        band = (
            "0-7"
            if age < 8
            else "8-14"
            if age < 15
            else "15-30"
            if age < 31
            else "31-60"
            if age < 61
            else "60+"
        )
        expected[queue][band] += 1
    rows = {r["queue"]: r for r in report_make("turnaround", year=2026).table("waiting").rows}
    for queue, bands in expected.items():
        for band, n in bands.items():
            assert rows[queue][f"age_{band}"] == n, (queue, band)
        assert rows[queue]["total"] == sum(bands.values())


def test_rejections_by_reason_and_reversals(scheme):
    expected = Counter()
    for t in ClaimTransition.objects.select_related("claim__scheme_year"):
        if t.to_status in ("rejected", "returned") and t.claim.scheme_year.year == 2026:
            expected[(t.to_status, t.reason)] += 1
    report = report_make("rejections", year=2026)
    got = {(r["kind"], r["reason"]): r["times"] for r in report.table("reasons").rows}
    assert got == dict(expected)
    rev = {r["kind"]: r for r in report.table("reversals").rows}
    voided = [c for c in _claims() if c.status == "void"]
    assert rev["void"]["count"] == len(voided)
    assert rev["void"]["amount_fen"] == sum(c.amount_fen or 0 for c in voided)
    assert (rev["recovery"]["count"], rev["recovery"]["amount_fen"]) == (2, 35_000)
    assert rev["recovery"]["settled_fen"] == 15_000
    assert (rev["top_up"]["count"], rev["top_up"]["settled_fen"]) == (1, 7_000)


def test_caps_largest_claims(scheme):
    report = report_make("caps", year=2026)
    top = sorted(
        (c for c in _claims() if c.status in APPROVED), key=lambda c: (-c.amount_fen, c.id)
    )[:20]
    assert [r["number"] for r in report.table("largest").rows] == [c.number for c in top]
    assert report.table("largest").rows[0]["id_number"].count("*") == 8  # masked


def test_enrollment_new_renewal_growth_and_cards(scheme):
    y, prev = scheme["year"], scheme["prev"]
    report = report_make("enrollment", year=2026)
    rows = {r["union"]: r for r in report.table("by_union").rows}
    renewed_ids = set(
        Enrollment.objects.filter(scheme_year=prev, withdrawn_at=None).values_list(
            "member_id", flat=True
        )
    )
    for code in ("WA", "WA2", "WB"):
        now = list(Enrollment.objects.filter(scheme_year=y, union__code=code, withdrawn_at=None))
        before = Enrollment.objects.filter(scheme_year=prev, union__code=code).count()
        renewals = sum(1 for e in now if e.member_id in renewed_ids)
        no_card = sum(
            1
            for e in now
            if not Member.objects.get(pk=e.member_id).bank_account_last4
            or not Member.objects.get(pk=e.member_id).bank_name
        )
        row = rows[code]
        assert (row["enrolled"], row["renewal"], row["new"]) == (
            len(now),
            renewals,
            len(now) - renewals,
        )
        assert row["previous"] == before
        assert row["renewal_ratio"] == _ratio(renewals, before)
        assert row["growth"] == _ratio(len(now) - before, before)
        assert row["no_card"] == no_card
    assert sum(r["card_failed"] for r in rows.values()) == 1


def test_operator_sees_only_its_subtree_and_other_unions_are_refused(scheme, users, tree):
    op = users["operator_town"]
    report = report_make("payouts", year=2026, by="union", user=op)
    assert {r["key"] for r in report.tables[0].rows} <= {"WA", "WA2"}
    assert report.union_code == "T01"
    with pytest.raises(ReportError) as err:
        report_make("payouts", year=2026, union_code="WB", user=op)
    assert err.value.code == "unknown_union"
    with pytest.raises(ReportError) as missing:
        report_make("payouts", year=2026, union_code="NOPE", user=op)
    assert missing.value.message == err.value.message.replace("WB", "NOPE")
    fed = report_make("payouts", year=2026, by="union", user=users["reviewer"])
    assert "WB" in {r["key"] for r in fed.tables[0].rows}


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({"name": "nope"}, "unknown_report"),
        ({"name": "payouts", "by": "colour"}, "bad_dimension"),
        ({"name": "fund", "by": "month"}, "bad_dimension"),
        ({"name": "fund", "year": 1999}, "unknown_year"),
    ],
)
def test_bad_requests_are_refused_with_a_code(scheme, kwargs, code):
    args = {"year": 2026, **kwargs}
    with pytest.raises(ReportError) as err:
        report_make(args.pop("name"), **args)
    assert err.value.code == code
