"""The one-stop API through real signed HTTP requests: presettle, settle (idempotent), cancel."""

import json
import time

import pytest
from django.db import connection

from huzhu.api.keys import api_key_create
from huzhu.audit.models import AuditEvent
from huzhu.claims.models import AdjustmentItem, Claim, MemberYearLedger, Notification
from huzhu.core.masking import mask_id_number
from huzhu.hospitals.models import OnestopRequest
from huzhu.settlements.services import settlement_import_file
from tests.onestop.conftest import make_hospital, stay
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db


def counts():
    return (
        Claim.objects.count(),
        OnestopRequest.objects.count(),
        MemberYearLedger.objects.count(),
        AuditEvent.objects.filter(action__startswith="claim").count(),
    )


def test_presettle_answers_the_amount_and_writes_nothing(plans, enroll, call):
    m = enroll()
    before = counts()
    r = call("presettle", stay("S1", m))
    assert r.status_code == 200
    body = r.json()
    assert (body["code"], body["status"], body["amount"]) == ("ok", "covered", "1250.00")
    assert body["items"][0]["breakdown"]["deductible_fen"] == 50000
    assert body["year_after"] == {"deductible_left": "0.00", "cap_left": "28750.00"}
    assert counts() == before


def test_settle_commits_an_approved_fixed_claim_payable_to_the_hospital(plans, enroll, call):
    m = enroll()
    r = call("settle", {**stay("S1", m), "request_id": "R1"})
    assert r.status_code == 200
    body = r.json()
    assert (body["code"], body["amount"], body["duplicate"]) == ("ok", "1250.00", False)
    claim = Claim.objects.get(settlement_id="S1")
    assert body["items"][0]["claim_number"] == claim.number
    assert (claim.status, claim.source, claim.payee_kind, claim.hospital_code) == (
        "approved",
        "onestop",
        "hospital",
        "H001",
    )
    assert claim.is_fixed and claim.amount_fen == 125000
    ledger = MemberYearLedger.objects.get(member=m)
    assert (ledger.deductible_used_fen, ledger.paid_toward_cap_fen) == (50000, 125000)
    # The second stay continues from the first one's band (domain.md's worked example).
    r2 = call(
        "settle",
        {
            **stay("S2", m, base="12000.00", admit="2026-04-01", discharge="2026-04-10"),
            "request_id": "R2",
        },
    )
    assert r2.json()["amount"] == "6450.00"


def test_retry_with_the_same_request_id_answers_the_same_and_commits_nothing(plans, enroll, call):
    m = enroll()
    body = {**stay("S1", m), "request_id": "R1"}
    first = call("settle", body).json()
    before = counts()
    # The same body re-serialised with another key order is the same request.
    reordered = dict(reversed(list(body.items())))
    again = call("settle", reordered)
    assert again.status_code == 200
    assert again.json() == first
    assert counts() == before


def test_same_request_id_with_another_body_is_409(plans, enroll, call):
    m = enroll()
    call("settle", {**stay("S1", m), "request_id": "R1"})
    r = call("settle", {**stay("S1", m, base="3100.00"), "request_id": "R1"})
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["field"]) == ("request_id_reused", "request_id")
    assert Claim.objects.get(settlement_id="S1").amount_fen == 125000


def test_new_request_id_for_a_settled_settlement_answers_the_earlier_result_as_duplicate(
    plans, enroll, call
):
    m = enroll()
    first = call("settle", {**stay("S1", m), "request_id": "R1"}).json()
    r = call("settle", {**stay("S1", m), "request_id": "R9"})
    assert r.status_code == 200
    body = r.json()
    assert body["duplicate"] is True
    assert body["items"][0]["claim_number"] == first["items"][0]["claim_number"]
    assert body["amount"] == first["amount"]
    assert Claim.objects.filter(settlement_id="S1").count() == 1
    assert MemberYearLedger.objects.get(member=m).paid_toward_cap_fen == 125000
    # Presettling it again also says it is settled already.
    assert call("presettle", stay("S1", m)).json()["duplicate"] is True


def test_not_enrolled_and_waiting_period_are_coded_200_answers_without_claims(plans, enroll, call):
    from tests.factories import MemberFactory

    stranger = MemberFactory()
    r = call("settle", {**stay("S1", stranger), "request_id": "R1"})
    assert (r.status_code, r.json()["code"], r.json()["amount"]) == (200, "not_enrolled", "0.00")
    new = enroll(renewal=False, enrolled_on=__import__("datetime").date(2026, 2, 1))
    r = call("settle", {**stay("S2", new), "request_id": "R2"})
    assert (r.status_code, r.json()["code"]) == (200, "waiting_period")
    assert r.json()["coverage_start"] == "2026-05-02"
    r = call("presettle", stay("S3", new, admit="2027-03-01", discharge="2027-03-02"))
    assert r.json()["code"] == "out_of_period"
    assert not Claim.objects.exists()
    # The answers are stored: a retry gets the same, a changed body is refused.
    again = call("settle", {**stay("S1", stranger), "request_id": "R1"})
    assert again.json()["code"] == "not_enrolled"


def test_cancel_voids_and_recomputes_the_later_stays(plans, enroll, call, write_csv):
    m = enroll()
    call("settle", {**stay("S1", m), "request_id": "R1"})
    call(
        "settle",
        {
            **stay("S2", m, base="12000.00", admit="2026-04-01", discharge="2026-04-10"),
            "request_id": "R2",
        },
    )
    # A later stay arrives from the bureau: an unfixed auto-claim.
    settlement_import_file(
        path=write_csv([row("B3", m, base="2000.00", admit="2026-06-01", discharge="2026-06-05")])
    )
    assert Claim.objects.get(settlement_id="B3").amount_fen == 120000  # 2000 × 60%
    r = call("cancel", {"hospital_code": "H001", "request_id": "C1", "settlement_id": "S1"})
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == "ok"
    s1 = Claim.objects.get(settlement_id="S1")
    assert s1.status == "void"
    # S2 is fixed (settled at the cashier): without S1 it is worth 5,900.00, the 550.00
    # difference is a recovery item; B3 is unfixed: recomputed (cumulative 11,500 → 13,500).
    s2 = Claim.objects.get(settlement_id="S2")
    assert s2.amount_fen == 645000
    item = AdjustmentItem.objects.get(claim=s2)
    assert (item.kind, item.amount_fen) == ("recovery", 55000)
    assert Claim.objects.get(settlement_id="B3").amount_fen == 120000
    ledger = MemberYearLedger.objects.get(member=m)
    assert ledger.paid_toward_cap_fen == 590000 + 120000
    assert sorted(body["recomputed"]) == [s2.number]
    # Retried: the same answer; cancelled again with a new request id: already cancelled.
    again = call("cancel", {"hospital_code": "H001", "request_id": "C1", "settlement_id": "S1"})
    assert again.json() == body
    other = call("cancel", {"hospital_code": "H001", "request_id": "C2", "settlement_id": "S1"})
    assert other.json()["code"] == "already_cancelled"
    assert AdjustmentItem.objects.count() == 1
    # A settlement id that was cancelled cannot be settled again.
    r = call("settle", {**stay("S1", m), "request_id": "R3"})
    assert r.json()["code"] == "cancelled"


def test_cancel_of_an_unknown_or_other_hospitals_settlement_is_not_found(
    plans, enroll, call, client
):
    m = enroll()
    call("settle", {**stay("S1", m), "request_id": "R1"})
    other = make_hospital(code="H002", name="嵊州市中医院")
    key2 = api_key_create(kind="hospital", owner_code=other.code)
    from tests.onestop.conftest import URLS, signed_post

    r = signed_post(
        client,
        URLS["cancel"],
        {"hospital_code": "H002", "request_id": "C1", "settlement_id": "S1"},
        key2,
    )
    assert (r.status_code, r.json()["code"]) == (200, "not_found")
    assert Claim.objects.get(settlement_id="S1").status == "approved"


def test_settle_before_a_later_stay_reprices_it(plans, enroll, call, write_csv):
    m = enroll()
    settlement_import_file(
        path=write_csv([row("B5", m, base="12000.00", admit="2026-05-01", discharge="2026-05-10")])
    )
    assert Claim.objects.get(settlement_id="B5").amount_fen == 590000
    r = call("settle", {**stay("S1", m), "request_id": "R1"})  # discharged 03-10: earlier
    assert r.json()["amount"] == "1250.00"
    assert Claim.objects.get(settlement_id="B5").amount_fen == 645000
    ledger = MemberYearLedger.objects.get(member=m)
    assert (ledger.deductible_used_fen, ledger.paid_toward_cap_fen) == (50000, 770000)


def test_bureau_file_later_carrying_the_settlement_id_creates_no_second_claim(
    plans, enroll, call, write_csv
):
    m = enroll()
    call("settle", {**stay("S1", m), "request_id": "R1"})
    ledger_before = MemberYearLedger.objects.values().get(member=m)
    result = settlement_import_file(path=write_csv([row("S1", m, base="3000.00")]))
    assert result.summary["created"] == 0
    assert Claim.objects.filter(settlement_id="S1").count() == 1
    ledger = MemberYearLedger.objects.values().get(member=m)
    assert ledger["paid_toward_cap_fen"] == ledger_before["paid_toward_cap_fen"] == 125000
    assert ledger["deductible_used_fen"] == 50000
    # Importing the same file again changes nothing either.
    settlement_import_file(path=write_csv([row("S1", m, base="3000.00")]))
    assert Claim.objects.filter(settlement_id="S1").count() == 1


def test_stay_already_claimed_through_the_bureau_is_refused_at_the_cashier(
    plans, enroll, call, write_csv
):
    m = enroll()
    settlement_import_file(path=write_csv([row("S1", m, base="3000.00")]))
    r = call("settle", {**stay("S1", m), "request_id": "R1"})
    assert (r.status_code, r.json()["code"]) == (200, "already_claimed")
    assert Claim.objects.filter(settlement_id="S1").count() == 1


def test_lump_sum_is_settled_with_the_stay(plans, enroll, call):
    m = enroll()
    r = call("settle", {**stay("S1", m, diagnosis_code="C34.901"), "request_id": "R1"})
    body = r.json()
    assert [i["benefit"] for i in body["items"]] == ["inpatient", "critical_illness"]
    assert body["amount"] == "11250.00"
    lump = Claim.objects.get(settlement_id="S1", benefit_code="critical_illness")
    assert lump.payee_kind == "hospital" and lump.is_fixed
    assert MemberYearLedger.objects.get(member=m).lump_sums == {"critical_illness": lump.number}
    # Once per year: the next stay with the same diagnosis gets only the inpatient part.
    r2 = call(
        "settle",
        {
            **stay("S2", m, diagnosis_code="C34.901", admit="2026-04-01", discharge="2026-04-02"),
            "request_id": "R2",
        },
    )
    assert [i["benefit"] for i in r2.json()["items"]] == ["inpatient"]


# --- authentication -------------------------------------------------------------------------


def test_unsigned_bad_signature_stale_or_wrong_kind_is_401(plans, enroll, call, client):
    m = enroll()
    body = {**stay("S1", m), "request_id": "R1"}
    r = client.post("/api/onestop/settle", data=json.dumps(body), content_type="application/json")
    assert (r.status_code, r.json()["code"]) == (401, "missing_headers")
    r = call("settle", body, secret="not-the-secret")
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    r = call("settle", body, timestamp=int(time.time()) - 3600)
    assert (r.status_code, r.json()["code"]) == (401, "stale_timestamp")
    bureau_key = api_key_create(kind="source", owner_code="H001")
    r = call("settle", body, key=bureau_key)
    assert (r.status_code, r.json()["code"]) == (401, "bad_signature")
    assert not Claim.objects.exists()


def test_key_of_another_hospital_or_unregistered_hospital_is_refused(plans, enroll, call):
    m = enroll()
    r = call("settle", {**stay("S1", m, hospital_code="H999"), "request_id": "R1"})
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        400,
        "hospital_mismatch",
        "hospital_code",
    )
    orphan = api_key_create(kind="hospital", owner_code="H404")
    r = call("settle", {**stay("S1", m, hospital_code="H404"), "request_id": "R1"}, key=orphan)
    assert (r.status_code, r.json()["code"]) == (400, "unknown_hospital")


# --- malformed bodies ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"settlement_id": ""}, "settlement_id"),
        ({"id_number": "330683198001010000"}, "id_number"),
        ({"id_number": 3.30683e17}, "id_number"),
        ({"admit_date": "2026/03/01"}, "admit_date"),
        ({"discharge_date": "2026-02-30"}, "discharge_date"),
        ({"admit_date": "2026-03-20"}, "discharge_date"),
        ({"self_pay_in_policy": "3000.005"}, "self_pay_in_policy"),
        ({"self_pay_in_policy": 3000.5}, "self_pay_in_policy"),
        ({"self_pay_in_policy": "-1.00"}, "self_pay_in_policy"),
        ({"self_pay_in_policy": "abc"}, "self_pay_in_policy"),
        ({"self_pay_in_policy": ""}, "self_pay_in_policy"),
        ({"request_id": ""}, "request_id"),
        ({"request_id": "x" * 65}, "request_id"),
        ({"settlement_id": ["S1"]}, "settlement_id"),
    ],
)
def test_malformed_fields_are_400_naming_the_field(plans, enroll, call, change, field):
    m = enroll()
    body = {**stay("S1", m), "request_id": "R1", **change}
    r = call("settle", body)
    assert r.status_code == 400, r.content
    assert (r.json()["code"], r.json()["field"]) == ("invalid_field", field)
    assert not Claim.objects.exists() and not OnestopRequest.objects.exists()


@pytest.mark.parametrize("raw", [b"", b"not json", b"[1, 2]", b'"text"', b"\xff\xfe", b"null"])
def test_bodies_that_are_not_json_objects_are_400(plans, call, raw):
    r = call("settle", raw)
    assert r.status_code == 400
    assert r.json()["field"] in ("body", "hospital_code")


def test_database_failure_answers_503_unavailable_not_500(plans, enroll, call, monkeypatch):
    from django.db import OperationalError

    from huzhu.hospitals import onestop

    m = enroll()

    def broken(*args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(onestop, "ledger_lock", broken)
    r = call("settle", {**stay("S1", m), "request_id": "R1"})
    assert (r.status_code, r.json()["code"]) == (503, "unavailable")
    assert not Claim.objects.exists() and not OnestopRequest.objects.exists()
    monkeypatch.undo()
    # The retry with the same request id then settles.
    r = call("settle", {**stay("S1", m), "request_id": "R1"})
    assert (r.status_code, r.json()["code"]) == (200, "ok")


def test_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/openapi.json").json()
    for path in ("/api/onestop/presettle", "/api/onestop/settle", "/api/onestop/cancel"):
        assert path in schema["paths"]
    settle_body = schema["paths"]["/api/onestop/settle"]["post"]["requestBody"]
    props = settle_body["content"]["application/json"]["schema"]["properties"]
    assert {"request_id", "settlement_id", "hospital_code", "self_pay_in_policy"} <= set(props)


def test_settle_path_stays_lean(
    plans,
    enroll,
    call,
    django_assert_max_num_queries,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    """The cashier's settle is real time: a bounded number of queries (measured: see
    benchmarks/RESULTS.md), whatever the member's history. PostgreSQL: the lookup, the
    ledger lock, the neighbouring claims with the claim id and number, one statement writing
    every row, plus the transaction's begin and end (savepoints here); after the commit the
    notification's delivery."""
    from huzhu.api import keys

    monkeypatch.setattr(keys, "_clock", lambda: 0.0)  # the key's row is re-read every 0.5 s
    m = enroll()
    call("settle", {**stay("S0", m), "request_id": "R0"})  # ledger row exists, key used
    body = {
        **stay("S1", m, base="8000.00", admit="2026-04-01", discharge="2026-04-10"),
        "request_id": "R1",
    }
    limit = 8 if connection.vendor == "postgresql" else 17
    with django_assert_max_num_queries(limit), django_capture_on_commit_callbacks(execute=True):
        r = call("settle", body)
    assert r.json()["code"] == "ok"
    assert r.json()["member"] == {"name": m.name, "id_number": mask_id_number(m.id_number)}
    claim = Claim.objects.get(settlement_id="S1")
    assert (claim.member_id, claim.union_id, claim.enrollment.member_id) == (m.pk, m.union_id, m.pk)
    assert claim.number == r.json()["items"][0]["claim_number"]
    assert list(claim.transitions.values_list("from_status", "to_status")) == [("", "approved")]
    note = Notification.objects.get(claim=claim, kind="claim_approved")
    assert note.sent_at is not None and "已在出院结算时直接减免" in note.text
    ledger = MemberYearLedger.objects.get(member=m)
    assert (ledger.version, ledger.paid_toward_cap_fen) == (2, 1250_00 + claim.amount_fen)
    assert OnestopRequest.objects.filter(request_id="R1", settlement_id="S1").count() == 1


def test_a_settled_claim_leaves_the_creation_trail_of_every_channel(plans, enroll, call):
    from tests.claims.trail import assert_created_once

    m = enroll()
    assert call("settle", {**stay("S1", m), "request_id": "R1"}).status_code == 200
    assert_created_once(Claim.objects.get(settlement_id="S1"), to_status="approved")
