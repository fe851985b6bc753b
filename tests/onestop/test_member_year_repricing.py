"""One member-year re-pricing service for every writer (issue 15): an earlier stay inserted
before an overridden claim moves its *computed* amount; the change becomes an adjustment
item whatever the channel (one-stop settle, a reviewer's approval, a bureau import), even
when the new computed amount happens to equal the override.

Before the claims core had one service, the one-stop and approval copies decided whether a
later claim moved by comparing the new computed amount with the claim's `amount_fen` (the
override), so an override of 1,500.00 hid a computed move 1,250.00 → 1,500.00 (+250.00 owed
to the member)."""

import datetime as dt

import pytest

from huzhu.claims.models import AdjustmentItem, Claim
from huzhu.claims.pricing import manual_claim_amount, manual_claim_preview
from huzhu.claims.services import (
    YearWalk,
    claim_approve,
    claim_submit,
    member_year_reprice,
    member_years_reprice,
    year_claims_locked,
)
from huzhu.hospitals.onestop import onestop_settle
from huzhu.hospitals.onestop_schemas import SettleIn
from huzhu.organizations.models import Role
from huzhu.settlements.services import settlement_import_file
from tests.factories import UserFactory
from tests.onestop.conftest import make_hospital, stay
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db

A = {"base": "3000.00", "admit": "2026-03-01", "discharge": "2026-03-10"}


def _overridden_at_1500(client, m, write_csv):
    """B1 (first stay, computed 1,250.00) approved by a reviewer at 1,500.00; C1, a later
    unfixed stay (so an earlier insertion walks the whole year)."""
    settlement_import_file(
        path=write_csv(
            [row("B1", m, base="3000.00", total="1.00", admit="2026-05-01", discharge="2026-05-10")]
        )
    )
    b = Claim.objects.get(settlement_id="B1")
    assert b.amount_fen == 125000
    reviewer = UserFactory(username="rev", role=Role.FEDERATION_REVIEWER, union=None)
    client.force_login(reviewer)
    client.post(
        f"/staff/claims/review/{b.pk}/act/",
        {"action": "override", "override_amount": "1500.00", "reason": "复核后按发票核定"},
    )
    b.refresh_from_db()
    assert (b.status, b.amount_fen, b.is_fixed, b.override_computed_fen) == (
        "approved",
        150000,
        True,
        125000,
    )
    settlement_import_file(
        path=write_csv([row("C1", m, base="100.00", admit="2026-08-01", discharge="2026-08-02")])
    )
    c = Claim.objects.get(settlement_id="C1")
    assert (c.status, c.amount_fen, c.is_fixed) == ("approved", 5000, False)
    return b, reviewer


def _settle(hospital, body: dict) -> dict:
    return onestop_settle(hospital=hospital, stay=SettleIn.parse(body, hospital=hospital))


def _top_up(b):
    return list(AdjustmentItem.objects.filter(claim=b).values_list("kind", "amount_fen"))


def test_one_stop_settle_before_an_override_tops_up_the_computed_change(
    plans, enroll, write_csv, client
):
    m = enroll()
    b, _reviewer = _overridden_at_1500(client, m, write_csv)
    answer = _settle(make_hospital(), {**stay("OS-A", m, **A), "request_id": "r-1"})
    assert answer["code"] == "ok" and answer["amount_fen"] == 125000
    # B1's computed amount moved 1,250.00 → 1,500.00: +250.00, although 1,500.00 is also
    # its overridden amount.
    assert _top_up(b) == [("top_up", 25000)]


def test_approval_before_an_override_tops_up_the_computed_change(
    plans, enroll, write_csv, client, union
):
    m = enroll()
    b, reviewer = _overridden_at_1500(client, m, write_csv)
    operator = UserFactory(username="op", role=Role.UNION_OPERATOR, union=union)
    manual = claim_submit(
        acting_user=operator,
        member=m,
        scheme_year=plans[0].scheme_year,
        data={
            "benefit_code": "inpatient",
            "hospital_name": "嵊州市人民医院",
            "admit_date": dt.date(2026, 3, 1),
            "discharge_date": dt.date(2026, 3, 10),
            "self_pay_in_policy_fen": 300000,
        },
    )
    # The review page previews what approving moves: B1 goes from 1,500.00 to 1,750.00 (its
    # worth to the member), C1 does not move.
    assert manual_claim_preview(manual).others == [(b.number, 150000, 175000)]
    approved = claim_approve(claim=manual, acting_user=reviewer, amount=manual_claim_amount)
    assert approved.amount_fen == 125000
    assert _top_up(b) == [("top_up", 25000)]


def test_a_bureau_record_before_an_override_tops_up_the_computed_change(
    plans, enroll, write_csv, client
):
    m = enroll()
    b, _reviewer = _overridden_at_1500(client, m, write_csv)
    settlement_import_file(path=write_csv([row("A1", m, **A)]))
    assert _top_up(b) == [("top_up", 25000)]


def test_the_single_case_and_the_batch_give_the_same_result(plans, enroll, write_csv):
    from django.db import transaction

    one, two = enroll(), enroll()
    for m, sid in ((one, "X"), (two, "Y")):
        settlement_import_file(
            path=write_csv(
                [
                    row(f"{sid}1", m, base="300.00", admit="2026-05-01", discharge="2026-05-10"),
                    row(f"{sid}2", m, base="900.00", admit="2026-07-01", discharge="2026-07-10"),
                ]
            )
        )
    lp = plans[0]
    year = lp.scheme_year.pk
    pairs = [(one.pk, year), (two.pk, year)]
    from huzhu.plans.rules.ledger import CoveredStay

    def walks():
        claims = year_claims_locked(pairs, lock=False)
        return [
            YearWalk(
                member_id=m,
                scheme_year_id=y,
                plan=lp.plan,
                version=(lp.version, lp.version_id),
                claims=claims[(m, y)],
                reason="测试",
                new_stays=[CoveredStay("NEW", dt.date(2026, 3, 10), 300000)],
            )
            for m, y in pairs
        ]

    with transaction.atomic():
        batch = member_years_reprice(walks(), write=False)
        singles = [member_year_reprice(w, write=False) for w in walks()]
    for a, b in zip(batch, singles, strict=True):
        assert a.result == b.result
        assert [(c.number, o, n) for c, o, n in a.changed] == [
            (c.number, o, n) for c, o, n in b.changed
        ]
    # The earlier stay takes the deductible: each member's two later claims move.
    assert [len(done.changed) for done in batch] == [2, 2]
    assert batch[0].new["NEW"].amount_fen == 125000
    # write=False wrote nothing.
    assert not AdjustmentItem.objects.exists()
    assert Claim.objects.get(settlement_id="X1").amount_fen == 0


def test_an_earlier_bureau_stay_under_a_one_stop_claim_at_the_cap_keeps_the_cap_in_effect(
    plans, enroll, write_csv
):
    """The cluster test's audit (deploy/local-cluster.sh) counts `amount_fen` of approved
    claims; a fixed one-stop claim keeps its amount when an earlier stay arrives from the
    bureau, and the difference is a recovery item (domain.md). What holds is the cap on what
    the claims are worth (amount ± items), and the ledger equals that."""
    from huzhu.claims.models import MemberYearLedger
    from huzhu.claims.services import claim_effective_fen

    m = enroll()
    answer = _settle(
        make_hospital(),
        {
            **stay("OS-1", m, base="70000.00", admit="2026-06-01", discharge="2026-06-10"),
            "request_id": "r-cap",
        },
    )
    assert answer["amount_fen"] == 3_000_000  # capped at 30,000.00
    settlement_import_file(path=write_csv([row("A1", m, **A)]))
    claims = list(Claim.objects.filter(member=m, benefit_code="inpatient", status="approved"))
    assert sum(c.amount_fen for c in claims) == 3_125_000  # what the cluster audit sums
    onestop_claim = next(c for c in claims if c.settlement_id == "OS-1")
    assert _top_up(onestop_claim) == [("recovery", 125_000)]
    worth = sum(claim_effective_fen(c) for c in claims)
    ledger = MemberYearLedger.objects.get(member=m)
    assert worth == ledger.paid_toward_cap_fen == 3_000_000
