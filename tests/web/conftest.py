"""Fixtures for the staff pages: a small union tree, one account per role, an upload dir."""

import pytest

from huzhu.organizations.models import Role, UnionKind
from tests.factories import UnionFactory, UserFactory


@pytest.fixture(autouse=True)
def _upload_dir(settings, tmp_path):
    """Where preview uploads land: `uploads/` in the private storage's local folder."""
    settings.HUZHU_DOCUMENT_DIR = tmp_path / "private"
    return tmp_path / "private" / "uploads"


@pytest.fixture
def upload_dir(_upload_dir):
    return _upload_dir


@pytest.fixture
def tree(db):
    """federation F -> township T -> workplaces A, A2; federation F -> workplace B."""
    fed = UnionFactory(code="F000", name="嵊州市总工会", kind=UnionKind.FEDERATION)
    town = UnionFactory(code="T01", name="剡湖街道总工会", kind=UnionKind.TOWNSHIP, parent=fed)
    a = UnionFactory(code="WA", name="甲公司工会", parent=town)
    a2 = UnionFactory(code="WA2", name="乙公司工会", parent=town)
    b = UnionFactory(code="WB", name="丙公司工会", parent=fed)
    return {"fed": fed, "town": town, "a": a, "a2": a2, "b": b}


@pytest.fixture
def operator_a(tree):
    return UserFactory(username="op_a", role=Role.UNION_OPERATOR, union=tree["a"])


@pytest.fixture
def operator_b(tree):
    return UserFactory(username="op_b", role=Role.UNION_OPERATOR, union=tree["b"])


@pytest.fixture
def operator_town(tree):
    return UserFactory(username="op_town", role=Role.UNION_OPERATOR, union=tree["town"])


@pytest.fixture
def reviewer(tree):
    return UserFactory(username="reviewer", role=Role.FEDERATION_REVIEWER, union=tree["fed"])


@pytest.fixture
def finance(tree):
    return UserFactory(username="finance", role=Role.FEDERATION_FINANCE, union=tree["fed"])


@pytest.fixture
def editor(tree):
    return UserFactory(username="editor", role=Role.PORTAL_EDITOR, union=tree["fed"])


@pytest.fixture
def member_user(tree):
    return UserFactory(username="member1", role=Role.MEMBER, union=tree["a"])


@pytest.fixture
def login(client):
    def _login(user):
        client.force_login(user)
        return client

    return _login
