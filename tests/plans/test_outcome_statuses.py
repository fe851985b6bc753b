"""domain.md "Outcome of a settlement record": statuses, precedence, lump sums."""

from datetime import date

import pytest

from huzhu.plans.rules.ledger import Coverage

from .helpers import MEMBER, WOMAN, make_plan, renewed, run_both, stay


@pytest.fixture
def plan():
    return make_plan()


def statuses(outcomes):
    return [
        (o.settlement_id, o.status.value, o.reason_code)
        for o in outcomes
        if o.benefit == "inpatient"
    ]


def test_duplicate_is_any_earlier_row_valid_or_not_ids_trimmed_and_case_sensitive(plan):
    rows = [
        stay("S1", "abc"),  # invalid, but its id still counts
        stay(" S1 ", "1000.00"),
        stay("s1", "1000.00"),
    ]
    assert statuses(run_both(plan, rows, renewed(MEMBER))) == [
        ("S1", "invalid", "invalid.base.not_a_number"),
        ("S1", "duplicate", "duplicate"),
        ("s1", "covered", ""),
    ]


def test_reversal_cancels_the_record_it_names_before_or_after_it(plan):
    rows = [
        stay("R1", "-1000.00", reverses="S2"),
        stay("S1", "1000.00"),
        stay("S2", "2000.00"),
        stay("R2", "-1000.00", reverses="S1"),
        stay("R3", "-5.00", reverses="NOPE"),
    ]
    out = run_both(plan, rows, renewed(MEMBER))
    assert statuses(out) == [
        ("R1", "reversal", "reversal"),
        ("S1", "reversed", "reversed"),
        ("S2", "reversed", "reversed"),
        ("R2", "reversal", "reversal"),
        ("R3", "reversal", "reversal_unmatched"),
    ]
    assert out[0].reverses == "S2"
    assert all(o.amount_fen == 0 and o.deductible_fen == 0 for o in out)


def test_precedence_duplicate_then_reversal_then_reversed_then_invalid(plan):
    rows = [
        stay("S1", "100.00"),
        stay("S1", "-1.00", reverses="S1"),  # duplicate wins over reversal
        stay("S3", "bad"),
        stay("R3", "-1.00", reverses="S3"),  # S3 invalid, but reversed wins
        stay("S4", "1.00", who="3.30683E+17", discharge="2027-01-05"),  # invalid over out_of_period
    ]
    assert statuses(run_both(plan, rows, {})) == [
        ("S1", "not_enrolled", "not_enrolled"),
        ("S1", "duplicate", "duplicate"),
        ("S3", "reversed", "reversed"),
        ("R3", "reversal", "reversal"),
        ("S4", "invalid", "invalid.id_number.excel_mangled"),
    ]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"settlement_id": ""}, "invalid.missing_settlement_id"),
        ({"id_number": "330683197306063817"}, "invalid.id_number.bad_check_digit"),
        ({"id_number": "3.306831970070701e+17"}, "invalid.id_number.excel_mangled"),
        ({"admit_date": "2026/03/01"}, "invalid.admit_date"),
        ({"discharge_date": "2026-02-30"}, "invalid.discharge_date"),
        ({"admit_date": "2026-03-06"}, "invalid.discharge_before_admission"),
        ({"self_pay_in_policy": ""}, "invalid.base.empty"),
        ({"self_pay_in_policy": "12.345"}, "invalid.base.too_many_decimals"),
        ({"self_pay_in_policy": "-1.00"}, "invalid.base.negative"),
        ({"self_pay_in_policy": "1,000.00"}, "invalid.base.not_a_number"),
    ],
)
def test_invalid_rows_name_the_field(plan, change, code):
    row = {**stay("S1", "1000.00"), **change}
    (o,) = run_both(plan, [row], renewed(MEMBER))
    assert (o.status.value, o.reason_code) == ("invalid", code)
    field = {"id_number": "id_number", "admit_date": "admit_date", "base": "self_pay_in_policy"}
    for key, name in field.items():
        if key in code:
            assert o.reason.startswith(name + "：")


def test_trailing_zeros_beyond_two_decimals_are_fine(plan):
    (o,) = run_both(plan, [stay("S1", "1500.000")], renewed(MEMBER))
    assert (o.status.value, o.base_fen) == ("covered", 150000)


def test_out_of_period_not_enrolled_and_waiting_period(plan):
    other = WOMAN
    coverage = {MEMBER: Coverage(date(2026, 1, 1), renewal=False)}  # new: covered from 2026-04-01
    rows = [
        stay("P", "100.00", admit="2025-12-20", discharge="2025-12-31"),
        stay("N", "100.00", who=other),
        stay("W", "100.00", admit="2026-03-31", discharge="2026-04-02"),
        stay("C", "100.00", admit="2026-04-01", discharge="2026-04-02"),
    ]
    out = run_both(plan, rows, coverage)
    assert statuses(out) == [
        ("P", "out_of_period", "out_of_period"),
        ("N", "not_enrolled", "not_enrolled"),
        ("W", "waiting_period", "waiting_period"),
        ("C", "covered", ""),
    ]
    assert out[2].coverage_start == date(2026, 4, 1)


def test_renewal_stay_admitted_in_december_discharged_in_january_is_covered(plan):
    (o,) = run_both(
        plan, [stay("S", "1000.00", admit="2025-12-28", discharge="2026-01-03")], renewed(MEMBER)
    )
    assert o.status.value == "covered"


def test_new_enrollment_before_the_year_can_start_cover_before_january(plan):
    coverage = {MEMBER: Coverage(date(2025, 9, 1), renewal=False)}  # + 90 days = 2025-11-30
    (o,) = run_both(
        plan, [stay("S", "1000.00", admit="2025-12-28", discharge="2026-01-03")], coverage
    )
    assert o.status.value == "covered"


def test_lump_sums_female_c50_pays_both_and_male_only_critical_illness(plan):
    rows = [
        stay("F1", "1000.00", who=WOMAN, diag="c50.901"),
        stay("M1", "1000.00", diag="C50.901"),
    ]
    out = run_both(plan, rows, renewed(MEMBER, WOMAN))
    lumps = [(o.settlement_id, o.benefit, o.amount_fen) for o in out if o.benefit != "inpatient"]
    assert lumps == [
        ("F1", "critical_illness", 1000000),
        ("F1", "female_special", 500000),
        ("M1", "critical_illness", 1000000),
    ]
    # one inpatient row per input row first, in input order
    assert [o.benefit for o in out[:2]] == ["inpatient", "inpatient"]


def test_lump_sum_paid_once_to_the_first_matching_covered_stay_in_ledger_order(plan):
    rows = [
        stay("B", "100.00", diag="I63.900", discharge="2026-06-01", admit="2026-05-20"),
        stay("A", "100.00", diag="I21.000", discharge="2026-05-01", admit="2026-04-20"),
        stay(
            "C", "100.00", diag="I65.000", discharge="2026-04-01", admit="2026-03-20"
        ),  # outside I60-I64
    ]
    out = run_both(plan, rows, renewed(MEMBER))
    assert [(o.settlement_id, o.benefit) for o in out if o.benefit != "inpatient"] == [
        ("A", "critical_illness")
    ]


def test_lump_sums_need_a_covered_stay(plan):
    coverage = {MEMBER: Coverage(date(2026, 3, 1), renewal=False)}
    rows = [stay("W", "100.00", diag="C34.100", admit="2026-03-05", discharge="2026-03-09")]
    out = run_both(plan, rows, coverage)
    assert [o.benefit for o in out] == ["inpatient"]
