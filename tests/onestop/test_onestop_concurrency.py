"""PostgreSQL, several connections at once: hospitals settling the same member never together
pass the cap or use the deductible twice; a retried request settles once."""

import pytest
from django.test import Client

from huzhu.api.keys import api_key_create
from huzhu.claims.models import Claim, MemberYearLedger
from huzhu.hospitals.models import OnestopRequest
from tests.concurrency import run_together
from tests.onestop.conftest import URLS, make_hospital, signed_post, stay

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _settle(key, body):
    response = signed_post(Client(), URLS["settle"], body, key)
    return response.status_code, response.json()


def test_hospitals_settling_one_member_at_once_respect_cap_and_deductible(plans, enroll):
    member = enroll()
    hospitals = [make_hospital(code=f"H00{i}", name=f"医院{i}") for i in range(1, 5)]
    keys = [api_key_create(kind="hospital", owner_code=h.code) for h in hospitals]
    # Each stay alone would pay 22,700.00 (39,500 excess: 10,000 × 50% + 29,500 × 60%);
    # four of them together must stop at the 30,000.00 cap.
    calls = [
        lambda i=i: _settle(
            keys[i],
            {
                **stay(f"S{i}", member, base="40000.00", hospital_code=hospitals[i].code),
                "request_id": f"R{i}",
            },
        )
        for i in range(4)
    ]
    results = run_together(calls)
    assert all(r[0] == 200 and r[1]["code"] == "ok" for r in results), results
    claims = list(Claim.objects.filter(member=member, benefit_code="inpatient"))
    assert len(claims) == 4
    total = sum(c.amount_fen for c in claims)
    assert total == 3_000_000
    assert sum(c.breakdown["deductible_fen"] for c in claims) == 50_000
    ledger = MemberYearLedger.objects.get(member=member)
    assert ledger.paid_toward_cap_fen == total
    assert ledger.deductible_used_fen == 50_000
    assert ledger.cumulative_excess_fen == 4 * 4_000_000 - 50_000
    answered = sorted(int(r[1]["amount_fen"]) for r in results)
    assert sum(answered) == total


def test_the_same_request_sent_twice_at_once_settles_once(plans, enroll):
    member = enroll()
    hospital = make_hospital()
    key = api_key_create(kind="hospital", owner_code=hospital.code)
    body = {**stay("S1", member), "request_id": "R1"}
    results = run_together([lambda: _settle(key, body) for _ in range(3)])
    assert all(r[0] == 200 for r in results), results
    assert results[0][1] == results[1][1] == results[2][1]
    assert Claim.objects.filter(settlement_id="S1").count() == 1
    assert OnestopRequest.objects.count() == 1
    assert MemberYearLedger.objects.get(member=member).paid_toward_cap_fen == 125_000


def test_one_settlement_id_under_two_request_ids_at_once_is_one_claim(plans, enroll):
    member = enroll()
    hospital = make_hospital()
    key = api_key_create(kind="hospital", owner_code=hospital.code)
    results = run_together(
        [lambda i=i: _settle(key, {**stay("S1", member), "request_id": f"R{i}"}) for i in range(2)]
    )
    assert all(r[0] == 200 and r[1]["code"] == "ok" for r in results), results
    assert sorted(r[1]["duplicate"] for r in results) == [False, True]
    assert results[0][1]["items"][0]["claim_number"] == results[1][1]["items"][0]["claim_number"]
    assert Claim.objects.filter(settlement_id="S1").count() == 1
    assert MemberYearLedger.objects.get(member=member).paid_toward_cap_fen == 125_000


def test_cancel_and_settle_of_one_member_at_once_leave_a_consistent_ledger(plans, enroll):
    from huzhu.claims.models import AdjustmentItem

    member = enroll()
    h1, h2 = make_hospital(), make_hospital(code="H002", name="嵊州市中医院")
    k1 = api_key_create(kind="hospital", owner_code=h1.code)
    k2 = api_key_create(kind="hospital", owner_code=h2.code)
    _settle(k1, {**stay("S1", member), "request_id": "R1"})

    def cancel():
        response = signed_post(
            Client(),
            URLS["cancel"],
            {"hospital_code": "H001", "request_id": "C1", "settlement_id": "S1"},
            k1,
        )
        return response.status_code, response.json()

    later = stay(
        "S2",
        member,
        base="12000.00",
        admit="2026-04-01",
        discharge="2026-04-10",
        hospital_code="H002",
    )
    results = run_together([cancel, lambda: _settle(k2, {**later, "request_id": "R2"})])
    assert all(r[0] == 200 and r[1]["code"] == "ok" for r in results), results
    # Whatever the order, S1 is void and the year holds only S2, worth 5,900.00 in the end
    # (its amount, less a recovery item if it was settled while S1 still counted).
    s2 = Claim.objects.get(settlement_id="S2")
    recovered = sum(a.amount_fen for a in AdjustmentItem.objects.filter(claim=s2, kind="recovery"))
    assert Claim.objects.get(settlement_id="S1").status == "void"
    assert s2.amount_fen - recovered == 590_000
    ledger = MemberYearLedger.objects.get(member=member)
    assert (ledger.paid_toward_cap_fen, ledger.deductible_used_fen) == (590_000, 50_000)
