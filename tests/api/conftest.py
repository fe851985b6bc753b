from tests.onestop.conftest import _fresh_caches, call, hkey, hospital  # noqa: F401
from tests.settlements.conftest import enroll, plans, union, write_csv, year2026  # noqa: F401
