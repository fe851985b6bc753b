from tests.settlements.conftest import enroll, plans, union, year2026  # noqa: F401
