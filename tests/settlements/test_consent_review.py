"""A member who did not consent (enrollment form) or withdrew (on /m/): their bureau records
are kept for a reviewer, never paid automatically, by the file import, the push API's service
and the one-stop cashier alike. Online claims stay open to them."""

import pytest
from django.utils import timezone

from huzhu.claims.models import Claim
from huzhu.enrollment.consent import consent_member_answer, consent_text_current
from huzhu.enrollment.models import MemberConsent
from huzhu.settlements.frames import CONSENT_WITHHELD_REASON
from huzhu.settlements.models import SettlementRecord
from huzhu.settlements.services import settlement_import_file
from tests.onestop.conftest import _fresh_caches, call, hkey, hospital, stay  # noqa: F401
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db


def refused_at_enrollment(member):
    MemberConsent.objects.create(
        member=member,
        status="refused",
        source="enrollment",
        text=consent_text_current(),
        recorded_at=timezone.now(),
    )


def withdraw(member):
    consent_member_answer(
        member=member, accept=False, acting_user=None, text=consent_text_current()
    )


@pytest.mark.parametrize("how", [refused_at_enrollment, withdraw])
def test_a_non_consenting_members_record_is_kept_for_review_not_paid(plans, enroll, write_csv, how):
    no, yes = enroll(name="甲"), enroll(name="乙")
    how(no)
    result = settlement_import_file(path=write_csv([row("S1", no), row("S2", yes)]))
    assert (result.summary["approved"], result.summary["for_review"]) == (1, 1)
    claim = Claim.objects.get(settlement_id="S1")
    assert claim.status == "submitted" and claim.paid_at is None
    assert CONSENT_WITHHELD_REASON in claim.review_reason
    assert CONSENT_WITHHELD_REASON in SettlementRecord.objects.get(settlement_id="S1").review_reason
    assert [r["settlement_id"] for r in result.review] == ["S1"]
    assert Claim.objects.get(settlement_id="S2").status == "approved"


def test_after_a_withdrawal_the_next_stay_goes_to_review_and_consent_again_restores_it(
    plans, enroll, write_csv
):
    m = enroll(name="甲")
    settlement_import_file(path=write_csv([row("S1", m)]))
    assert Claim.objects.get(settlement_id="S1").status == "approved"
    withdraw(m)
    # The member-year has history now: the row-by-row path must say the same.
    settlement_import_file(
        path=write_csv([row("S2", m, admit="2026-05-01", discharge="2026-05-05")])
    )
    second = Claim.objects.get(settlement_id="S2")
    assert second.status == "submitted" and CONSENT_WITHHELD_REASON in second.review_reason
    consent_member_answer(member=m, accept=True, acting_user=None, text=consent_text_current())
    settlement_import_file(
        path=write_csv([row("S3", m, admit="2026-07-01", discharge="2026-07-05")])
    )
    assert Claim.objects.get(settlement_id="S3").status == "approved"


@pytest.mark.parametrize("action", ["presettle", "settle"])
def test_one_stop_answers_needs_review_for_a_withdrawn_member(plans, enroll, call, action):  # noqa: F811
    m = enroll(name="张三")
    withdraw(m)
    r = call(action, {**stay("S1", m), "request_id": "R1"})
    answer = r.json()
    assert (answer["code"], answer["amount_fen"]) == ("needs_review", 0)
    assert CONSENT_WITHHELD_REASON in answer["reasons"]
    assert not Claim.objects.exists()
