"""Checks of a stay's figures and an invoice's identity (huzhu.claims.checks)."""

from datetime import date

import pytest

from huzhu.claims.checks import InvoiceMismatch, invoice_identity, stay_problems

STAY = {"admit": date(2026, 3, 1), "discharge": date(2026, 3, 10)}


def figures(total, fund, inside, outside):
    return {
        "total_cost_fen": total,
        "fund_paid_fen": fund,
        "self_pay_in_policy_fen": inside,
        "self_pay_out_policy_fen": outside,
    }


def test_figures_that_add_up_pass():
    assert stay_problems(**STAY, **figures(1_500_000, 900_000, 300_000, 300_000)) == []
    assert stay_problems(**STAY, **figures(1_500_000, None, 300_000, None)) == []


def test_parts_that_do_not_add_up_are_named_as_the_import_names_them():
    (problem,) = stay_problems(**STAY, **figures(1_600_000, 900_000, 300_000, 300_000))
    assert problem == (
        "total_cost_fen",
        "金额不符：统筹基金支付+政策范围内个人负担+政策范围外自费=15000.00元，医疗总费用为16000.00元",
    )


def test_known_parts_above_the_total_are_refused():
    (problem,) = stay_problems(**STAY, **figures(100_000, 900_000, None, None))
    assert problem[0] == "total_cost_fen" and "超过医疗总费用1000.00元" in problem[1]


def test_a_stay_longer_than_a_year_is_refused():
    long_stay = {"admit": date(2025, 3, 1), "discharge": date(2026, 3, 10)}
    assert stay_problems(**long_stay, **figures(None, None, None, None)) == [
        ("discharge_date", "住院天数超过365天（374天）")
    ]


def test_invoice_identity_comes_from_the_qr_and_a_different_typed_number_is_refused():
    qr = {"number": "12345678", "code": "033002100111"}
    identity = invoice_identity(typed_number=" １２３４５６７８ ", qr_codes=[qr])
    assert (identity.code, identity.number) == ("033002100111", "12345678")
    assert invoice_identity(typed_number="op2-0001", qr_codes=[]).number == "OP2-0001"
    with pytest.raises(InvoiceMismatch) as err:
        invoice_identity(typed_number="OP2-0001", qr_codes=[qr])
    assert "OP2-0001" in str(err.value) and "12345678" in str(err.value)
