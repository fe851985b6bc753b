"""Two imports of the same file started at the same moment create each claim once
(PostgreSQL: two threads, each with its own connection; no mock)."""

import pytest

from huzhu.claims.models import Claim
from huzhu.settlements.models import SettlementRecord
from huzhu.settlements.services import settlement_import_file
from tests.concurrency import run_together
from tests.settlements.conftest import row


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_imports_create_each_claim_once(plans, enroll, write_csv):
    members = [enroll(name=f"职工{i}") for i in range(5)]
    lines = []
    for i, m in enumerate(members):
        lines.append(row(f"P{i}A", m, base="3000.00"))
        lines.append(row(f"P{i}B", m, base="12000.00", admit="2026-05-01", discharge="2026-05-10"))
    path = write_csv(lines)
    results = run_together([lambda: settlement_import_file(path=path).summary] * 2, timeout=60)
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(r["created"] for r in results) == [0, 10]
    assert sorted(r["duplicates"] for r in results) == [0, 10]
    assert Claim.objects.count() == 10
    assert SettlementRecord.objects.count() == 10
    assert sorted(Claim.objects.values_list("amount_fen", flat=True))[-1] == 645000
