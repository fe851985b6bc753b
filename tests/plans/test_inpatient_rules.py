"""domain.md "Inpatient benefit — exact semantics", table by table, on both engines."""

from datetime import date

import pytest

from huzhu.plans.rules.ledger import (
    Coverage,
    CoveredStay,
    LedgerState,
    adjudicate_member_year,
    adjudicate_stay,
)

from .helpers import MEMBER, make_plan, renewed, run_both, stay


def inpatient(outcomes):
    return [o for o in outcomes if o.benefit == "inpatient"]


def test_worked_example_from_domain_md(plan_2026):
    # Given a renewed member with stay A (3,000.00) then stay B (12,000.00)
    rows = [
        stay("A", "3000.00", discharge="2026-02-10", admit="2026-02-01"),
        stay("B", "12000.00", discharge="2026-05-10", admit="2026-05-01"),
    ]
    a, b = inpatient(run_both(plan_2026, rows, renewed(MEMBER)))
    # A: deductible 500.00, excess 2,500.00 at 50%
    assert (a.status, a.deductible_fen, a.excess_fen, a.amount_fen) == (
        "covered",
        50000,
        250000,
        125000,
    )
    assert [(p.base_fen, p.amount_fen) for p in a.bands] == [(250000, 125000), (0, 0), (0, 0)]
    # B: cumulative excess 2,500 -> 14,500: 7,500.00 at 50% + 4,500.00 at 60%
    assert (b.deductible_fen, b.excess_fen, b.amount_fen) == (0, 1200000, 645000)
    assert [(p.base_fen, p.amount_fen) for p in b.bands] == [
        (750000, 375000),
        (450000, 270000),
        (0, 0),
    ]
    assert a.amount_fen + b.amount_fen == 770000


def test_second_stay_continues_from_first_stays_band_whatever_the_input_order(plan_2026):
    rows = [
        stay("B", "12000.00", discharge="2026-05-10", admit="2026-05-01"),
        stay("A", "3000.00", discharge="2026-02-10", admit="2026-02-01"),
    ]
    b, a = inpatient(run_both(plan_2026, rows, renewed(MEMBER)))
    assert (a.settlement_id, a.amount_fen) == ("A", 125000)
    assert (b.settlement_id, b.amount_fen) == ("B", 645000)


def test_deductible_absorbs_a_small_stay_which_is_covered_with_zero():
    plan = make_plan()
    a, b = inpatient(
        run_both(
            plan,
            [stay("A", "300.00"), stay("B", "400.00", discharge="2026-03-06")],
            renewed(MEMBER),
        )
    )
    assert (a.status, a.amount_fen, a.deductible_fen, a.excess_fen) == ("covered", 0, 30000, 0)
    # B finishes the deductible (200.00) and pays 50% of the remaining 200.00
    assert (b.deductible_fen, b.excess_fen, b.amount_fen) == (20000, 20000, 10000)


def test_cap_reached_in_the_middle_of_a_stay():
    plan = make_plan(cap={"amount": "1000.00", "per": "year"})
    a, b = inpatient(
        run_both(
            plan,
            [stay("A", "3000.00"), stay("B", "800.00", discharge="2026-04-01")],
            renewed(MEMBER),
        )
    )
    assert (a.before_cap_fen, a.cap_cut_fen, a.amount_fen) == (125000, 25000, 100000)
    assert (b.before_cap_fen, b.cap_cut_fen, b.amount_fen) == (40000, 40000, 0)


def test_no_cap_means_unlimited():
    plan = make_plan(cap=None)
    (a,) = inpatient(run_both(plan, [stay("A", "1000000.00")], renewed(MEMBER)))
    # 9,500 at 50% (first band is 0..10,000 of excess) ... whole excess 999,500.00
    expected = 1000000 * 50 // 100 + 4000000 * 60 // 100 + (99950000 - 5000000) * 70 // 100
    assert a.cap_cut_fen == 0 and a.amount_fen == expected


def test_rounding_is_half_up_once_per_stay_not_per_band():
    # Given two bands of one fen each at 50%: exact sum 0.5 + 0.5 = 1 fen
    plan = make_plan(
        deductible=None,
        cap=None,
        tiers=[{"up_to": "0.01", "ratio": "0.5"}, {"ratio": "0.5"}],
    )
    (a,) = inpatient(run_both(plan, [stay("A", "0.02")], renewed(MEMBER)))
    assert a.amount_fen == 1  # rounding each band first would give 2
    (b,) = inpatient(run_both(plan, [stay("B", "0.01")], renewed(MEMBER)))
    assert b.amount_fen == 1  # 0.5 fen rounds half up


def test_ratios_with_four_decimals_are_exact():
    plan = make_plan(deductible=None, cap=None, tiers=[{"ratio": "0.3333"}])
    (a,) = inpatient(run_both(plan, [stay("A", "100.00")], renewed(MEMBER)))
    assert a.amount_fen == 3333  # 10000 fen * 0.3333 exactly


def test_discharge_date_ties_are_broken_by_settlement_id_as_text():
    plan = make_plan()
    # "S10" sorts before "S9" as text, so S10 takes the deductible.
    rows = [stay("S9", "1000.00"), stay("S10", "1000.00")]
    s9, s10 = inpatient(run_both(plan, rows, renewed(MEMBER)))
    assert s10.deductible_fen == 50000 and s9.deductible_fen == 0


def test_deductible_per_stay_resets_but_bands_run_over_the_year():
    plan = make_plan(deductible={"amount": "500.00", "per": "stay"})
    a, b = inpatient(
        run_both(
            plan,
            [stay("A", "10500.00"), stay("B", "1500.00", discharge="2026-04-01")],
            renewed(MEMBER),
        )
    )
    assert (a.deductible_fen, a.amount_fen) == (50000, 500000)  # 10,000 at 50%
    # B: its own 500.00 deductible, then 1,000.00 in the second band (60%)
    assert (b.deductible_fen, b.excess_fen, b.amount_fen) == (50000, 100000, 60000)


def test_uncovered_stays_consume_neither_deductible_nor_bands():
    plan = make_plan()
    coverage = {MEMBER: Coverage(date(2026, 1, 10), renewal=False)}  # covered from 2026-04-10
    rows = [
        stay("W", "5000.00", admit="2026-03-01", discharge="2026-03-05"),
        stay("C", "1500.00", admit="2026-05-01", discharge="2026-05-05"),
    ]
    w, c = inpatient(run_both(plan, rows, coverage))
    assert (w.status, w.amount_fen, w.deductible_fen) == ("waiting_period", 0, 0)
    assert (c.status, c.deductible_fen, c.amount_fen) == ("covered", 50000, 50000)


def test_ledger_state_in_and_out_gives_the_same_as_one_pass(plan_2026):
    stays = [
        CoveredStay("A", date(2026, 2, 10), 300000),
        CoveredStay("B", date(2026, 5, 10), 1200000),
        CoveredStay("C", date(2026, 9, 1), 9000000),
    ]
    whole = adjudicate_member_year(plan_2026, stays, sex="male")
    first = adjudicate_member_year(plan_2026, stays[:2], sex="male")
    rest = adjudicate_member_year(plan_2026, stays[2:], sex="male", state=first.state)
    assert [b.amount_fen for b in first.benefits + rest.benefits] == [
        b.amount_fen for b in whole.benefits
    ]
    assert rest.state == whole.state
    assert whole.state.paid_fen == 3000000  # the year's cap


def test_a_float_never_reaches_the_money_path(plan_2026):
    with pytest.raises(TypeError):
        adjudicate_stay(plan_2026.inpatient, "A", 3000.0, LedgerState())
    with pytest.raises(TypeError):
        adjudicate_member_year(plan_2026, [CoveredStay("A", date(2026, 2, 1), 1.5)], sex="male")
    result, _ = adjudicate_stay(plan_2026.inpatient, "A", 300001, LedgerState())
    for value in (result.amount_fen, result.before_cap_fen, *(b.amount_fen for b in result.bands)):
        assert type(value) is int
