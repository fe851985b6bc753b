"""The demo members and enrollments: valid, spread over the unions, idempotent."""

import io

import pytest
from django.utils import timezone

from huzhu.enrollment import demo as enrollment_demo
from huzhu.enrollment.models import Enrollment, SchemeYear
from huzhu.enrollment.selectors import enrollments_with_coverage
from huzhu.members.idnumbers import normalize_id_number
from huzhu.members.models import Member
from huzhu.organizations import demo as organizations_demo
from huzhu.organizations.models import User

pytestmark = pytest.mark.django_db


def test_demo_members_and_enrollments_twice_creates_nothing_new():
    organizations_demo.run(stdout=io.StringIO())
    enrollment_demo.run(stdout=io.StringIO())
    counts = (Member.objects.count(), Enrollment.objects.count(), SchemeYear.objects.count())
    enrollment_demo.run(stdout=io.StringIO())
    assert (
        Member.objects.count(),
        Enrollment.objects.count(),
        SchemeYear.objects.count(),
    ) == counts

    assert counts[0] == enrollment_demo.MEMBERS
    ids = [m.id_number for m in Member.objects.all()]
    assert all(normalize_id_number(n) == n and n.startswith("330683") for n in ids)

    today = timezone.localdate()
    this_year = SchemeYear.objects.get(year=today.year)
    assert (this_year.fee_per_member_fen, this_year.waiting_period_days) == (6000, 90)
    assert this_year.claim_window_days == 365
    enrollments = list(enrollments_with_coverage(Enrollment.objects.filter(scheme_year=this_year)))
    renewals = [e for e in enrollments if e.is_renewal]
    waiting = [e for e in enrollments if not e.is_renewal and e.coverage_start > today]
    assert len(renewals) > 1000 and len(enrollments) - len(renewals) > 100
    if (this_year.end - today).days > 7:  # late in December nobody can still be waiting
        assert waiting
    # Nobody pays a fee for a year in which their cover would never start.
    assert all(e.coverage_start <= this_year.end for e in enrollments)
    assert Enrollment.objects.filter(scheme_year__year=today.year - 1).count() > 1000

    for username in ("operator", "operator2"):
        union = User.objects.get(username=username).union
        assert Member.objects.filter(union=union).count() >= 50
        assert Enrollment.objects.filter(union=union, scheme_year=this_year).exists()
    with_card = Member.objects.exclude(bank_account_last4="").count()
    assert with_card > 0.9 * enrollment_demo.MEMBERS and with_card < enrollment_demo.MEMBERS
    member = Member.objects.exclude(bank_account_last4="").first()
    assert member.bank_account.endswith(member.bank_account_last4)
