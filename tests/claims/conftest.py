"""A small world for claim tests: two workplace unions, members with logins, staff of each role."""

from types import SimpleNamespace

import pytest

from huzhu.organizations.models import Role, UnionKind
from tests.factories import (
    EnrollmentFactory,
    MemberFactory,
    SchemeYearFactory,
    UnionFactory,
    UserFactory,
)


def member_with_login(union, year):
    member = MemberFactory(union=union)
    member.user = UserFactory(role=Role.MEMBER, union=None)
    member.save(update_fields=["user"])
    EnrollmentFactory(member=member, scheme_year=year)
    return member


@pytest.fixture
def world(db):
    fed = UnionFactory(code="F0", kind=UnionKind.FEDERATION)
    w1 = UnionFactory(code="W1", parent=fed)
    w2 = UnionFactory(code="W2", parent=fed)
    year = SchemeYearFactory(year=2026)
    member = member_with_login(w1, year)
    other_member = member_with_login(w2, year)
    return SimpleNamespace(
        fed=fed,
        w1=w1,
        w2=w2,
        year=year,
        member=member,
        member_user=member.user,
        other_member=other_member,
        other_member_user=other_member.user,
        operator=UserFactory(role=Role.UNION_OPERATOR, union=w1),
        other_operator=UserFactory(role=Role.UNION_OPERATOR, union=w2),
        reviewer=UserFactory(role=Role.FEDERATION_REVIEWER, union=fed),
        finance=UserFactory(role=Role.FEDERATION_FINANCE, union=fed),
        admin=UserFactory(role=Role.ADMIN, union=fed),
        editor=UserFactory(role=Role.PORTAL_EDITOR, union=fed),
    )
