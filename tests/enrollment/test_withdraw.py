"""enrollment_withdraw: only before the year starts, audited, scoped."""

from datetime import date

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from huzhu.audit.models import AuditEvent
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


def test_not_once_the_year_has_started(enrollment):
    operator = UserFactory(union=enrollment.union)
    with pytest.raises(ValidationError) as exc:
        enrollment_withdraw(
            enrollment=enrollment, acting_user=operator, reason="x", today=date(2026, 1, 1)
        )
    assert exc.value.code == "year_started"
    enrollment.refresh_from_db()
    assert enrollment.withdrawn_at is None


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
