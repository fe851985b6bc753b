import pytest

from huzhu.organizations.models import Role, UnionKind
from huzhu.organizations.selectors import union_visible_ids
from tests.factories import UnionFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_operator_sees_own_union_and_descendants_only():
    fed = UnionFactory(code="F", kind=UnionKind.FEDERATION)
    town = UnionFactory(code="T", kind=UnionKind.TOWNSHIP, parent=fed)
    w1 = UnionFactory(code="W1", parent=town)
    w2 = UnionFactory(code="W2", parent=fed)
    town_op = UserFactory(union=town)
    w1_op = UserFactory(union=w1)

    assert union_visible_ids(town_op) == {town.id, w1.id}
    assert union_visible_ids(w1_op) == {w1.id}
    assert w2.id not in union_visible_ids(town_op)


def test_federation_reviewer_sees_every_union():
    fed = UnionFactory(code="F", kind=UnionKind.FEDERATION)
    reviewer = UserFactory(union=fed, role=Role.FEDERATION_REVIEWER)
    assert union_visible_ids(reviewer) is None


def test_account_without_union_sees_nothing():
    user = UserFactory(union=None, role=Role.UNION_OPERATOR)
    assert union_visible_ids(user) == set()
