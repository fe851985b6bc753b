"""One renewal rule (issue 15): the enrollment app's query decides renewal for the member
pages, the settlement import, the one-stop lookup (compiled into its raw statement), the
enrollment import (its set-based form) and the enrollment report alike: an active
enrollment, through any union, in the previous year."""

import datetime as dt

import pytest
from django.utils import timezone

from huzhu.enrollment.models import Enrollment
from huzhu.enrollment.selectors import (
    enrollment_is_renewal,
    enrollments_with_coverage,
    renewal_member_ids,
)
from huzhu.enrollment.services import enrollment_import
from huzhu.hospitals.onestop import _lookup
from huzhu.hospitals.onestop_schemas import StayIn
from huzhu.settlements.importing import _coverage
from tests.enrollment.helpers import xlsx
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory, UnionFactory
from tests.onestop.conftest import make_hospital, stay

pytestmark = pytest.mark.django_db


def test_every_reader_says_renewal_alike(plans, year2026, union):
    prev = SchemeYearFactory(year=2025)
    other_union = UnionFactory(code="WSZ9", name="另一工会")
    members = {}
    for name, previous in (
        ("续保", "active"),
        ("换工会续保", "other_union"),
        ("上年退保", "withdrawn"),
        ("新参保", None),
    ):
        m = MemberFactory(name=name, union=union)
        if previous:
            e = EnrollmentFactory(
                member=m,
                scheme_year=prev,
                union=other_union if previous == "other_union" else union,
                enrolled_on=dt.date(2024, 12, 1),
            )
            if previous == "withdrawn":
                e.withdrawn_at = timezone.now()
                e.save(update_fields=["withdrawn_at"])
        members[name] = m
    expected = {"续保": True, "换工会续保": True, "上年退保": False, "新参保": False}
    # The enrollment import of the 2026 file, set-based, then the enrollments it made.
    ids = {m.pk: name for name, m in members.items()}
    selected = {ids[pk] for pk in renewal_member_ids(list(ids), 2026)}
    assert selected == {name for name, renews in expected.items() if renews}
    sheet = xlsx([[name, m.id_number, None, None, None] for name, m in members.items()])
    result = enrollment_import(
        data=sheet,
        file_name="名单.xlsx",
        union=union,
        scheme_year=year2026,
        today=dt.date(2025, 12, 1),
    )
    file_import = {
        name: p.status == "renewal" for name, p in zip(members, result.preview, strict=True)
    }
    assert result.summary["enrolled"] == 4 and result.summary["renewals"] == 2
    this_year = Enrollment.objects.filter(scheme_year=year2026)
    annotated = {e.member.name: e.is_renewal for e in enrollments_with_coverage(this_year)}
    plain = {e.member.name: enrollment_is_renewal(e) for e in this_year.select_related("member")}
    by_hash = {m.id_number_hash: name for name, m in members.items()}
    imported = {by_hash[r["member_hash"]]: r["renewal"] for r in _coverage(plans[0]).to_dicts()}
    hospital = make_hospital()
    onestop = {
        name: _lookup(StayIn.parse(stay(f"S-{i}", m), hospital=hospital), hospital)[0].renewal
        for i, (name, m) in enumerate(members.items())
    }
    assert annotated == plain == imported == onestop == file_import == expected
