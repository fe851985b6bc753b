"""PostgreSQL, several connections: tries sent at the same moment are counted before they
are checked, so a limit holds however many arrive together."""

import pytest
from django.utils import timezone

from huzhu.core.errors import StepRefused
from huzhu.members.accounts import member_bind
from huzhu.members.idnumbers import check_digit
from huzhu.members.models import SmsCode, ThrottleEvent
from huzhu.members.sms import MemorySmsBackend, SmsError, sms_code_request, sms_code_verify
from tests.concurrency import run_together
from tests.factories import MemberFactory, UnionFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

STRANGER = "198.51.100.66"


def test_twelve_guesses_at_once_get_five_checked(db):
    now = timezone.now()
    sms_code_request(phone="13900001111", client="203.0.113.20", now=now)
    code = MemorySmsBackend.last_code("13900001111")
    wrong = [f"{(int(code) + k) % 1_000_000:06d}" for k in range(1, 13)]
    results = run_together(
        [
            lambda w=w: sms_code_verify(phone="13900001111", code=w, client=STRANGER, now=now)
            for w in wrong
        ]
    )
    assert all(isinstance(r, SmsError) for r in results), results
    assert SmsCode.objects.get().attempts == 5  # only five got to compare their code
    assert sorted(r.code for r in results).count("locked") == 12 - 4


def test_twelve_binds_at_once_count_five_failures(db):
    MemberFactory(union=UnionFactory(), name="周杰", phone="")
    guesses = [f"330683198005170{k:02d}" for k in range(12)]
    guesses = [g + check_digit(g) for g in guesses]
    results = run_together(
        [
            lambda g=g: member_bind(phone="13600006666", name="周杰", id_number=g, client=STRANGER)
            for g in guesses
        ]
    )
    assert all(isinstance(r, StepRefused) for r in results), results
    codes = sorted(r.code for r in results)
    assert codes.count("no_match") == 5 and codes.count("too_many_tries") == 7
    assert ThrottleEvent.objects.filter(scope="bind.fail.phone").count() == 5
