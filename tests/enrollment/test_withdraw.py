"""enrollment_withdraw: only while no cover has begun, audited, scoped."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from huzhu.audit.models import AuditEvent
from huzhu.enrollment.fees import fee_statement_rows
from huzhu.enrollment.services import enrollment_withdraw
from tests.factories import EnrollmentFactory, SchemeYearFactory, UnionFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrollment():
    union = UnionFactory(code="W1")
    return EnrollmentFactory(
        scheme_year=SchemeYearFactory(year=2026), union=union, member__union=union
    )


def test_withdraw_before_the_year_starts_is_audited(enrollment):
    operator = UserFactory(union=enrollment.union)
    enrollment_withdraw(
        enrollment=enrollment, acting_user=operator, reason="调离本单位", today=date(2025, 12, 20)
    )
    enrollment.refresh_from_db()
    assert enrollment.withdrawn_at is not None
    event = AuditEvent.objects.get(action="enrollment.withdraw")
    assert event.actor == operator and event.reason == "调离本单位"
    assert event.object_id == str(enrollment.pk)
    assert event.before == {"withdrawn_at": None} and event.after["withdrawn_at"]


def test_not_once_cover_has_begun(enrollment):
    # New enrollment on 2026-01-01, 90 days' waiting period: cover begins 2026-04-01.
    operator = UserFactory(union=enrollment.union)
    with pytest.raises(ValidationError) as exc:
        enrollment_withdraw(
            enrollment=enrollment, acting_user=operator, reason="x", today=date(2026, 4, 1)
        )
    assert exc.value.code == "cover_started"
    assert "2026-04-01" in exc.value.messages[0]
    enrollment.refresh_from_db()
    assert enrollment.withdrawn_at is None


def test_a_new_enrollment_in_its_waiting_period_may_be_withdrawn(enrollment):
    operator = UserFactory(union=enrollment.union)
    enrollment_withdraw(
        enrollment=enrollment, acting_user=operator, reason="x", today=date(2026, 3, 31)
    )
    enrollment.refresh_from_db()
    assert enrollment.withdrawn_at is not None


def test_a_renewal_cannot_be_withdrawn_once_the_year_started(enrollment):
    EnrollmentFactory(
        member=enrollment.member, scheme_year=SchemeYearFactory(year=2025), union=enrollment.union
    )
    operator = UserFactory(union=enrollment.union)
    with pytest.raises(ValidationError) as exc:
        enrollment_withdraw(
            enrollment=enrollment, acting_user=operator, reason="x", today=date(2026, 1, 1)
        )
    assert exc.value.code == "cover_started"


def test_an_enrollment_whose_cover_starts_after_the_year_is_withdrawn_and_leaves_the_fees():
    # Given an enrollment stored before the import refused such rows: 2026-12-04 + 90 days
    union = UnionFactory(code="W9")
    year = SchemeYearFactory(year=2026)
    late = EnrollmentFactory(
        scheme_year=year, union=union, member__union=union, enrolled_on=date(2026, 12, 4)
    )
    EnrollmentFactory(scheme_year=year, union=union, member__union=union)
    assert len(fee_statement_rows(union=union, scheme_year=year)) == 2
    # When it is withdrawn after the year has ended
    enrollment_withdraw(
        enrollment=late,
        acting_user=UserFactory(union=union),
        reason="无保障期",
        today=date(2027, 1, 5),
    )
    # Then the fee statement no longer charges it
    rows = fee_statement_rows(union=union, scheme_year=year)
    assert len(rows) == 1 and late.member.name not in [r[0] for r in rows]


def test_twice_is_refused_and_a_reason_is_required(enrollment):
    operator = UserFactory(union=enrollment.union)
    with pytest.raises(ValidationError) as exc:
        enrollment_withdraw(enrollment=enrollment, acting_user=operator, reason="  ")
    assert exc.value.code == "reason_required"
    enrollment_withdraw(
        enrollment=enrollment, acting_user=operator, reason="x", today=date(2025, 12, 1)
    )
    with pytest.raises(ValidationError) as exc:
        enrollment_withdraw(
            enrollment=enrollment, acting_user=operator, reason="x", today=date(2025, 12, 1)
        )
    assert exc.value.code == "already_withdrawn"


def test_another_unions_operator_cannot(enrollment):
    stranger = UserFactory(union=UnionFactory(code="W2"))
    with pytest.raises(PermissionDenied):
        enrollment_withdraw(
            enrollment=enrollment, acting_user=stranger, reason="x", today=date(2025, 12, 1)
        )
