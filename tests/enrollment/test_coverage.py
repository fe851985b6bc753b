"""Renewal and coverage start are derived (domain.md), in Python and in the database alike."""

from datetime import UTC, date, datetime

import pytest

from huzhu.enrollment.models import Enrollment
from huzhu.enrollment.selectors import (
    enrollment_coverage_start,
    enrollment_is_renewal,
    enrollments_with_coverage,
)
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory, UnionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def years():
    return SchemeYearFactory(year=2025), SchemeYearFactory(year=2026, waiting_period_days=90)


def test_renewal_starts_at_the_year_start_new_after_the_waiting_period(years):
    last, this = years
    renewing, joining = MemberFactory(), MemberFactory()
    EnrollmentFactory(member=renewing, scheme_year=last)
    renewal = EnrollmentFactory(member=renewing, scheme_year=this, enrolled_on=date(2025, 11, 20))
    new = EnrollmentFactory(member=joining, scheme_year=this, enrolled_on=date(2025, 11, 20))

    assert enrollment_is_renewal(renewal) and not enrollment_is_renewal(new)
    assert enrollment_coverage_start(renewal) == date(2026, 1, 1)
    # Enrolled in the autumn before the year: covered from 90 days later.
    assert enrollment_coverage_start(new) == date(2026, 2, 18)


def test_renewal_through_another_union_counts(years):
    last, this = years
    member = MemberFactory()
    EnrollmentFactory(member=member, scheme_year=last, union=UnionFactory(code="OTHER"))
    e = EnrollmentFactory(member=member, scheme_year=this)
    assert enrollment_is_renewal(e)


def test_withdrawn_previous_year_is_not_a_renewal(years):
    last, this = years
    member = MemberFactory()
    EnrollmentFactory(
        member=member, scheme_year=last, withdrawn_at=datetime(2024, 12, 1, tzinfo=UTC)
    )
    e = EnrollmentFactory(member=member, scheme_year=this, enrolled_on=date(2026, 3, 1))
    assert not enrollment_is_renewal(e)
    assert enrollment_coverage_start(e) == date(2026, 5, 30)


def test_order_of_loading_years_does_not_matter(years):
    last, this = years
    member = MemberFactory()
    e = EnrollmentFactory(member=member, scheme_year=this)  # this year loaded first
    assert not enrollment_is_renewal(e)
    EnrollmentFactory(member=member, scheme_year=last)  # then last year's records
    assert enrollment_is_renewal(Enrollment.objects.get(pk=e.pk))


def test_database_annotation_equals_the_python_rule(years):
    last, this = years
    members = [MemberFactory() for _ in range(6)]
    for i, member in enumerate(members):
        if i % 2:
            EnrollmentFactory(member=member, scheme_year=last)
        EnrollmentFactory(
            member=member, scheme_year=this, enrolled_on=date(2025, 10 + i % 3, 1 + 5 * i)
        )
    annotated = enrollments_with_coverage(Enrollment.objects.filter(scheme_year=this))
    assert annotated.count() == 6
    for e in annotated:
        fresh = Enrollment.objects.select_related("scheme_year").get(pk=e.pk)
        assert e.is_renewal == enrollment_is_renewal(fresh)
        assert e.coverage_start == enrollment_coverage_start(fresh)
        assert isinstance(e.coverage_start, date)
    assert sum(e.is_renewal for e in annotated) == 3
