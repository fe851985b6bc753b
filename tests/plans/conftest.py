from pathlib import Path

import pytest

from huzhu.plans.schema import plan_from_file

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def plan_2026():
    plan, _ = plan_from_file(str(DATA / "plan-2026.yaml"))
    return plan
