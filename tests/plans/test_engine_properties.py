"""Property tests: the row engine and the bulk engine agree to the fen, and the
ledger's invariants hold (total within the cap, input order does not matter)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from huzhu.core.money import fen_to_yuan
from huzhu.plans.rules.ledger import Coverage
from huzhu.plans.schema import plan_from_data
from huzhu.plans.simulation import coverage_from_enrollments

from .helpers import make_id, run_bulk, run_row

MEMBERS = [
    make_id(born="19730606", seq="381"),  # male
    make_id(born="19850101", seq="002"),  # female
    make_id(born="19991231", seq="123"),
    make_id(born="19600229", seq="444"),  # female
]
DIAGNOSES = ["", "C50.901", "C34.100", "I63.900", "S82.201", "c53", "I21", "C97X", "D00"]


def yuan(fen: int) -> str:
    return fen_to_yuan(fen)


@st.composite
def plans(draw):
    n_tiers = draw(st.integers(1, 4))
    bounds = sorted(
        draw(st.sets(st.integers(1, 40_000), min_size=n_tiers - 1, max_size=n_tiers - 1))
    )
    tiers = []
    for i in range(n_tiers):
        ratio = draw(
            st.one_of(
                st.sampled_from(["0.5", "0.55", "1", "0", "0.3333", "0.0001", "0.9999"]),
                st.integers(0, 10_000).map(lambda n: f"{n / 10_000:.4f}"),
            )
        )
        tier = {"ratio": ratio}
        if i < n_tiers - 1:
            tier["up_to"] = yuan(bounds[i] * 100 + draw(st.integers(0, 99)))
        tiers.append(tier)
    inpatient = {
        "code": "inpatient",
        "name": "住院",
        "base": "self_pay_in_policy",
        "tiers": tiers,
    }
    if draw(st.booleans()):
        inpatient["deductible"] = {
            "amount": yuan(draw(st.integers(0, 300_000))),
            "per": draw(st.sampled_from(["year", "stay"])),
        }
    if draw(st.booleans()):
        inpatient["cap"] = {"amount": yuan(draw(st.integers(0, 2_000_000))), "per": "year"}
    benefits = [inpatient]
    if draw(st.booleans()):
        benefits.append(
            {
                "code": "critical_illness",
                "name": "大病",
                "lump_sum": "10000.00",
                "diagnoses": ["C00-C97", "I21"],
                "once_per": draw(st.sampled_from(["year", "lifetime"])),
            }
        )
    if draw(st.booleans()):
        benefits.append(
            {
                "code": "female_special",
                "name": "女职工",
                "lump_sum": "5000.00",
                "sex": "female",
                "diagnoses": ["C50", "C53"],
                "once_per": "lifetime",
            }
        )
    return plan_from_data(
        {
            "year": 2026,
            "name": "测试方案",
            "period": {"start": "2026-01-01", "end": "2026-12-31"},
            "fee_per_member": "60.00",
            "waiting_period_days": draw(st.integers(0, 120)),
            "claim_window_days": 365,
            "benefits": benefits,
        }
    )


def _day(offset: int) -> str:
    return (date(2026, 1, 1) + timedelta(days=offset)).isoformat()


@st.composite
def base_text(draw):
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.sampled_from(["", "abc", "1.234", "-5.00", "1e3", " 12.5 ", "12.300", None]))
    fen = draw(st.one_of(st.integers(0, 3_000_000), st.integers(0, 2_000).map(lambda n: n * 50)))
    return yuan(fen)


@st.composite
def record_rows(draw, unique_ids: bool = False):
    n = draw(st.integers(0, 25))
    rows = []
    for i in range(n):
        sid = (
            f"S{i:03d}"
            if unique_ids
            else draw(
                st.sampled_from(["S1", "S2", "S10", "S3", "s1", "S4", "S5", "S6", "S7", " S8 ", ""])
            )
        )
        admit_offset = draw(st.integers(-40, 380))
        stay_len = draw(st.integers(-1, 20))
        admit = _day(admit_offset)
        discharge = _day(admit_offset + stay_len)
        if draw(st.integers(0, 30)) == 0:
            admit = draw(st.sampled_from(["2026/01/05", "2026-02-30", "", "20260105"]))
        id_number = draw(
            st.one_of(
                st.sampled_from(MEMBERS),
                st.sampled_from(
                    ["3.30683E+17", "330683197306063810", MEMBERS[1].lower(), " " + MEMBERS[2]]
                ),
            )
        )
        reverses = ""
        if not unique_ids and draw(st.integers(0, 8)) == 0:
            reverses = draw(st.sampled_from(["S1", "S2", "S9", "S3"]))
        rows.append(
            {
                "settlement_id": sid,
                "id_number": id_number,
                "admit_date": admit,
                "discharge_date": discharge,
                "self_pay_in_policy": draw(base_text()),
                "diagnosis_code": draw(st.sampled_from(DIAGNOSES)),
                "reverses": reverses,
            }
        )
    return rows


@st.composite
def coverages(draw):
    out = {}
    for member in MEMBERS:
        if draw(st.integers(0, 4)) == 0:
            continue
        out[member] = Coverage(
            date(2025, 10, 1) + timedelta(days=draw(st.integers(0, 200))), draw(st.booleans())
        )
    return out


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(plans(), record_rows(), coverages())
def test_row_engine_equals_bulk_engine(plan, rows, coverage):
    row = [o.comparable() for o in run_row(plan, rows, coverage)]
    bulk = [o.comparable() for o in run_bulk(plan, rows, coverage)]
    assert row == bulk


@SETTINGS
@given(plans(), record_rows(), coverages())
def test_bulk_engine_on_the_keyed_coverage_of_an_enrollment_file(plan, rows, coverage):
    # Given the coverage as an enrollment file: coverage_from_enrollments adds each
    # member's integer key, which the bulk engine then uses without checking the numbers
    enrollments = pl.DataFrame(
        {
            "id_number": list(coverage),
            "year": [str(plan.year)] * len(coverage),
            "enrolled_on": [c.enrolled_on.isoformat() for c in coverage.values()],
            "renewal": ["true" if c.renewal else "false" for c in coverage.values()],
        },
        schema={c: pl.String for c in ("id_number", "year", "enrolled_on", "renewal")},
    )
    keyed, stats = coverage_from_enrollments(enrollments, plan.year)
    assert "member_key" in keyed.columns and stats.members == len(coverage)
    # Then its outcomes are the row engine's on the same coverage
    row = [o.comparable() for o in run_row(plan, rows, coverage)]
    assert [o.comparable() for o in run_bulk(plan, rows, keyed)] == row


@SETTINGS
@given(plans(), record_rows(), coverages())
def test_year_total_never_exceeds_cap(plan, rows, coverage):
    totals = defaultdict(int)
    for o in run_bulk(plan, rows, coverage):
        if o.benefit == "inpatient":
            assert o.amount_fen >= 0
            totals[o.member] += o.amount_fen
    cap = plan.inpatient.cap_fen
    if cap is not None:
        assert all(total <= cap for total in totals.values())


@SETTINGS
@given(plans(), record_rows(unique_ids=True), coverages(), st.randoms(use_true_random=False))
def test_shuffling_input_rows_changes_nothing(plan, rows, coverage, rnd: random.Random):
    def by_id(outcomes):
        return sorted(o.comparable()[1:] for o in outcomes)

    shuffled = list(rows)
    rnd.shuffle(shuffled)
    assert by_id(run_row(plan, rows, coverage)) == by_id(run_row(plan, shuffled, coverage))
    assert by_id(run_bulk(plan, shuffled, coverage)) == by_id(run_row(plan, rows, coverage))


NATIONAL_HEADER = [
    "setl_id",
    "mdtrt_id",
    "certno",
    "begndate",
    "enddate",
    "medfee_sumamt",
    "inscp_scp_amt",
    "fund_pay_sumamt",
    "diag_code",
    "refd_setl_flag",
]


@st.composite
def national_rows(draw):
    rows = []
    for i in range(draw(st.integers(0, 15))):
        admit_offset = draw(st.integers(-10, 370))
        total = draw(st.integers(0, 5_000_000))
        inscp = draw(st.integers(0, total))
        fund = draw(st.integers(0, inscp + 1000))
        refund = draw(st.integers(0, 4)) == 0
        sign = "-" if refund else ""
        rows.append(
            {
                "setl_id": f"S{i}" if not refund else f"R{i}",
                "mdtrt_id": draw(st.sampled_from(["M1", "M2", "M3", ""])),
                "certno": draw(st.sampled_from(MEMBERS)),
                "begndate": _day(admit_offset),
                "enddate": _day(admit_offset + draw(st.integers(0, 10))),
                "medfee_sumamt": sign + yuan(total),
                "inscp_scp_amt": draw(st.sampled_from([sign + yuan(inscp), "x", ""])),
                "fund_pay_sumamt": sign + yuan(fund),
                "diag_code": draw(st.sampled_from(DIAGNOSES)),
                "refd_setl_flag": "1" if refund else draw(st.sampled_from(["0", "", " 0"])),
            }
        )
    # Refunds that exactly negate an earlier stay of the same visit.
    for r in list(rows):
        if r["refd_setl_flag"] != "1" and draw(st.integers(0, 3)) == 0:
            rows.insert(
                draw(st.integers(0, len(rows))),
                {
                    **r,
                    "setl_id": "R" + r["setl_id"],
                    "medfee_sumamt": "-" + r["medfee_sumamt"],
                    "refd_setl_flag": "1",
                },
            )
    return rows


@SETTINGS
@given(plans(), national_rows(), coverages())
def test_engines_agree_on_national_platform_files(plan, rows, coverage):
    row = [o.comparable() for o in run_row(plan, rows, coverage, header=NATIONAL_HEADER)]
    bulk = [o.comparable() for o in run_bulk(plan, rows, coverage, header=NATIONAL_HEADER)]
    assert row == bulk


@given(st.lists(st.integers(-(10**14) + 1, 10**14 - 1), max_size=50))
def test_vectorised_yuan_formatting_is_exact(values):
    import polars as pl

    from huzhu.plans.simulation import yuan_expr

    frame = pl.DataFrame({"f": values}, schema={"f": pl.Int64})
    assert frame.select(yuan_expr(pl.col("f")))["f"].to_list() == [fen_to_yuan(v) for v in values]


@given(st.lists(st.text(alphabet="0123456789.-+ e,x", max_size=12), max_size=40))
def test_vectorised_amount_parsing_equals_row_parsing(values):
    import polars as pl

    from huzhu.plans.rules.amounts import parse_amount, with_amount

    frame = with_amount(
        pl.DataFrame({"t": values}, schema={"t": pl.String}).lazy(), "t", out="fen", err="err"
    ).collect()
    assert list(zip(frame["fen"], frame["err"], strict=True)) == [parse_amount(v) for v in values]
