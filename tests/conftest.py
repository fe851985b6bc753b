import pytest
from django.db import connection


def _is_postgres() -> bool:
    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (row locks / concurrency); CI runs it there")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)
