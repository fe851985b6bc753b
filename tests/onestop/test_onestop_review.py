"""One rule for both channels: what the bureau file import sends to a reviewer, the cashier
gets as `needs_review`, with nothing committed."""

import pytest

from huzhu.claims.models import Claim, MemberYearLedger
from huzhu.hospitals.models import OnestopRequest
from huzhu.settlements.models import SettlementRecord
from huzhu.settlements.services import settlement_import_file
from tests.onestop.conftest import stay
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db


def nothing_written():
    return not (
        Claim.objects.exists()
        or OnestopRequest.objects.exists()
        or MemberYearLedger.objects.exists()
    )


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"admit_date": "2006-01-01", "discharge_date": "2026-01-01"}, "住院天数超过365天"),
        ({"total_cost": "99999.00"}, "金额不符"),
        ({"name": "别人"}, "姓名与职工登记不一致"),
    ],
)
@pytest.mark.parametrize("action", ["presettle", "settle"])
def test_stay_the_import_would_send_to_review_needs_review_at_the_cashier(
    plans, enroll, call, action, change, reason
):
    m = enroll(name="张三")
    body = {**stay("S1", m), "request_id": "R1", **change}
    r = call(action, body)
    assert r.status_code == 200, r.content
    answer = r.json()
    assert (answer["code"], answer["amount_fen"]) == ("needs_review", 0)
    assert any(reason in text for text in answer["reasons"])
    assert nothing_written()


def test_the_same_stay_goes_to_review_in_the_file_import(plans, enroll, write_csv):
    """The other channel, for the record: a 20-year stay imported from the bureau's file."""
    m = enroll(name="张三")
    settlement_import_file(
        path=write_csv([row("S1", m, admit="2006-01-01", discharge="2026-01-01")])
    )
    record = SettlementRecord.objects.get(settlement_id="S1")
    assert "住院天数超过365天" in record.review_reason
    assert Claim.objects.get(settlement_id="S1").status == "submitted"


def test_a_clean_stay_is_still_priced(plans, enroll, call):
    m = enroll(name="张三")
    r = call("settle", {**stay("S1", m), "request_id": "R1"})
    assert (r.json()["code"], r.json()["amount"]) == ("ok", "1250.00")
