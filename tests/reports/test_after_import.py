"""After a real settlement import (the bulk engine, ledgers and all): the payouts total is
the sum of the approved amounts the import reported, and the caps report finds exactly the
members whose approved inpatient claims reach the plan's cap."""

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest

from huzhu.claims.models import Claim
from huzhu.reports.registry import report_make
from huzhu.settlements.services import settlement_import_file
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory, UnionFactory
from tests.reports.conftest import PLAN_2026
from tests.settlements.conftest import HEADER, row

pytestmark = pytest.mark.django_db


def test_payouts_total_equals_approved_amounts_of_the_import_and_caps(tmp_path):
    from huzhu.plans.services import plan_load

    y2026 = SchemeYearFactory(year=2026, waiting_period_days=90)
    y2025 = SchemeYearFactory(year=2025)
    plan_load(source_text=PLAN_2026.read_text(encoding="utf-8"), source_name="2026.yaml")
    union = UnionFactory(code="WI", name="导入工会")
    members = []
    for i in range(6):
        m = MemberFactory(union=union, name=f"导入{i}")
        EnrollmentFactory(member=m, scheme_year=y2025, union=union)
        EnrollmentFactory(
            member=m, scheme_year=y2026, union=union, enrolled_on=dt.date(2025, 12, 1)
        )
        members.append(m)
    lines = []
    n = 0
    for i, m in enumerate(members):
        # Member 0 and 1 go past the 30,000.00 cap; the others stay below it.
        bases = ["60000.00", "40000.00"] if i < 2 else ["3000.00", f"{1000 + 700 * i}.00"]
        for k, base in enumerate(bases):
            n += 1
            lines.append(
                row(
                    f"IMP{n:04d}",
                    m,
                    base=base,
                    admit=f"2026-0{3 + k}-01",
                    discharge=f"2026-0{3 + k}-09",
                    diag="C34.100" if (i == 2 and k == 0) else "J18.900",
                )
            )
    # A reversal of one stay of member 3: its unpaid claim becomes void.
    lines.append(
        row(
            "IMP0007-R",
            members[3],
            base="-3000.00",
            fund="-5000.00",
            reverses="IMP0007",
            admit="2026-03-01",
            discharge="2026-03-09",
        )
    )
    path = tmp_path / "settle.csv"
    path.write_text("\n".join([HEADER, *lines]) + "\n", encoding="utf-8")

    result = settlement_import_file(path=path)

    approved = Decimal(result.summary["approved_amount"])
    report = report_make("payouts", year=2026, by="benefit")
    assert Decimal(report.tables[0].total["amount_fen"]) / 100 == approved
    independent = sum(c.amount_fen for c in Claim.objects.all() if c.status in ("approved", "paid"))
    assert report.tables[0].total["amount_fen"] == independent
    assert report.tables[0].total["claims"] == sum(
        1 for c in Claim.objects.all() if c.status in ("approved", "paid")
    )
    # Caps: members whose approved inpatient claims sum to the cap.
    per_member = defaultdict(int)
    for c in Claim.objects.filter(benefit_code="inpatient", status__in=["approved", "paid"]):
        per_member[c.member_id] += c.amount_fen
    capped = {m.name for m in members if per_member[m.id] >= 3_000_000}
    caps = report_make("caps", year=2026)
    assert {r["member"] for r in caps.table("capped").rows} == capped == {"导入0", "导入1"}
    assert all(r["paid_fen"] == 3_000_000 for r in caps.table("capped").rows)
