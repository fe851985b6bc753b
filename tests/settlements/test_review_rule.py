"""The review rule in plain Python (`review_reasons`, used by the one-stop cashier) says
exactly what the import's polars expression (`review_reason_expr`) says, for any stay."""

import datetime as dt

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from huzhu.plans.rules.amounts import AMOUNT_ERROR_MESSAGES
from huzhu.plans.rules.records import AMOUNT_FIELDS
from huzhu.settlements.frames import review_reason_expr, review_reasons

fen = st.one_of(st.none(), st.integers(-5_000_00, 5_000_000_00))
err = st.one_of(st.none(), st.sampled_from(sorted(AMOUNT_ERROR_MESSAGES)))
day = st.dates(dt.date(2020, 1, 1), dt.date(2027, 12, 31))
names = st.sampled_from(["", "张三", "李四"])


@st.composite
def stays(draw):
    base = draw(st.sampled_from(["self_pay_in_policy", "total_cost"]))
    amounts = {n: draw(fen) for n in AMOUNT_FIELDS}
    # Mostly amounts that add up, so the other checks are seen alone too.
    if draw(st.booleans()) and all(amounts[n] is not None for n in AMOUNT_FIELDS):
        amounts["total_cost"] = (
            amounts["fund_paid"] + amounts["self_pay_in_policy"] + amounts["self_pay_out_policy"]
        )
    errors = {n: draw(err) for n in AMOUNT_FIELDS}
    admit = draw(day)
    discharge = admit + dt.timedelta(days=draw(st.sampled_from([0, 3, 365, 366, 7300])))
    return {
        "base": base,
        "amounts": amounts,
        "errors": errors,
        "sources": {n: f"列{n}" for n in AMOUNT_FIELDS},
        "admit": admit,
        "discharge": discharge,
        "name": draw(names),
        "member_name": draw(st.one_of(st.none(), names.filter(bool))),
    }


def _expr_says(s) -> str:
    row = {"admit": [s["admit"]], "discharge": [s["discharge"]], "name": [s["name"]]}
    row["member_name"] = [s["member_name"]]
    schema = {"admit": pl.Date, "discharge": pl.Date, "name": pl.String}
    schema["member_name"] = pl.String
    for n in AMOUNT_FIELDS:
        row[f"{n}_fen"], schema[f"{n}_fen"] = [s["amounts"][n]], pl.Int64
        row[f"{n}_err"], schema[f"{n}_err"] = [s["errors"][n]], pl.String
        row[f"{n}_src"], schema[f"{n}_src"] = [s["sources"][n]], pl.String
    frame = pl.DataFrame(row, schema=schema)
    return frame.select(review_reason_expr(s["base"]).alias("r"))["r"][0]


@settings(max_examples=300, deadline=None)
@given(stays())
def test_row_rule_equals_the_import_expression(s):
    said = review_reasons(
        amounts=s["amounts"],
        base=s["base"],
        admit=s["admit"],
        discharge=s["discharge"],
        name=s["name"],
        member_name=s["member_name"],
        amount_errors=s["errors"],
        amount_sources=s["sources"],
    )
    assert "；".join(said) == _expr_says(s)


def test_a_twenty_year_stay_needs_review():
    said = review_reasons(
        amounts={"total_cost": 1000, "fund_paid": 500, "self_pay_in_policy": 500},
        base="self_pay_in_policy",
        admit=dt.date(2006, 1, 1),
        discharge=dt.date(2026, 1, 1),
    )
    assert said == ["住院天数超过365天（7305天）"]
