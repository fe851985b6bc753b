"""Late data (issue 15): stored records refused as not enrolled, in the waiting period or out
of period are adjudicated again when the enrollment or the plan arrives, once."""

import datetime as dt
import json
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from huzhu.audit.models import AuditEvent
from huzhu.claims.models import Claim, ClaimTransition, Notification
from huzhu.enrollment.services import enrollment_import
from huzhu.plans.services import plan_load
from huzhu.settlements.models import SettlementRecord
from huzhu.settlements.readjudicate import settlements_readjudicate
from huzhu.settlements.services import settlement_import_file
from tests.enrollment.helpers import csv_bytes, id_number
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory
from tests.settlements.conftest import PLAN_2026, row

pytestmark = pytest.mark.django_db

STAY = {"base": "3000.00", "admit": "2026-05-01", "discharge": "2026-05-10"}


def enroll_by_sheet(union, year, people, *, enrolled_on=dt.date(2025, 12, 1)):
    """The union's sheet for `year` through the enrollment import service."""
    data = csv_bytes([[name, idn, "13812345678", "", ""] for name, idn in people])
    return enrollment_import(
        data=data,
        file_name="名单.csv",
        union=union,
        scheme_year=year,
        enrolled_on=enrolled_on,
        today=dt.date(2026, 1, 10),
    )


def run_command(*args) -> tuple[list[str], dict]:
    out = StringIO()
    call_command("settlements-readjudicate", *args, stdout=out)
    lines = out.getvalue().strip().splitlines()
    return lines, json.loads(lines[-1])


def test_a_record_refused_as_not_enrolled_becomes_a_claim_after_the_enrollment_import(
    plans, union, write_csv, django_capture_on_commit_callbacks
):
    # Given a stay of a worker the bureau knows but the scheme does not (yet)
    idn = id_number()
    s = settlement_import_file(path=write_csv([row("L1", idn, name="王五", **STAY)])).summary
    assert (s["not_enrolled"], s["created"]) == (1, 0)
    assert not Claim.objects.exists()
    # When the union's enrollment sheet (with them, enrolled 2025-12-01) is imported
    with django_capture_on_commit_callbacks(execute=True):
        result = enroll_by_sheet(union, plans[0].scheme_year, [("王五", idn)])
    assert result.written
    # Then the stored record earned its auto-claim: 3000 − 500 deductible at 50%
    claim = Claim.objects.get(settlement_id="L1")
    assert (claim.status, claim.amount_fen, claim.source) == ("approved", 125000, "auto")
    assert claim.member.id_number == idn
    record = SettlementRecord.objects.get(settlement_id="L1")
    assert (record.status, record.member_id, record.reason) == ("covered", claim.member_id, "")
    # with the same trail as any auto-claim, and the member is told
    step = ClaimTransition.objects.get(claim=claim)
    assert (step.from_status, step.to_status) == ("", "approved")
    assert Notification.objects.filter(claim=claim).exists()
    assert AuditEvent.objects.filter(action="settlements.readjudicate").count() == 1


def test_running_it_again_creates_nothing_more(plans, enroll, write_csv):
    idn = id_number()
    settlement_import_file(
        path=write_csv(
            [
                row("L1", idn, **STAY),
                row("L2", idn, **STAY | {"admit": "2026-06-01", "discharge": "2026-06-03"}),
            ]
        )
    )
    m = enroll(id_number=idn)  # enrolled afterwards, by hand (no import, no hook)
    first = settlements_readjudicate().summary()
    assert (first["covered"], first["created"], first["approved"]) == (2, 2, 2)
    again = settlements_readjudicate().summary()
    assert (again["checked"], again["changed"], again["created"]) == (0, 0, 0)
    assert Claim.objects.filter(member=m).count() == 2
    # The second stay continued from the first one in the ledger: one deductible only.
    assert Claim.objects.get(settlement_id="L2").amount_fen == 150000


def test_a_waiting_period_record_is_covered_once_last_years_enrollment_arrives(
    plans, union, write_csv, django_capture_on_commit_callbacks
):
    # Given a member enrolled new on 2026-03-01 (cover from 2026-05-30) and a stay in April
    member = MemberFactory(union=union, name="赵六")
    EnrollmentFactory(
        member=member,
        scheme_year=plans[0].scheme_year,
        union=union,
        enrolled_on=dt.date(2026, 3, 1),
    )
    april = {"base": "3000.00", "admit": "2026-04-01", "discharge": "2026-04-05"}
    s = settlement_import_file(path=write_csv([row("W1", member, **april)])).summary
    assert s["waiting_period"] == 1
    # When 2025's enrollment of the same member is imported, 2026 is a renewal: no waiting
    year2025 = SchemeYearFactory(year=2025)
    with django_capture_on_commit_callbacks(execute=True):
        imported = enroll_by_sheet(
            union, year2025, [(member.name, member.id_number)], enrolled_on=dt.date(2024, 12, 1)
        )
    assert imported.written, [p.message for p in imported.problems]
    claim = Claim.objects.get(settlement_id="W1")
    assert claim.amount_fen == 125000
    assert SettlementRecord.objects.get(settlement_id="W1").status == "covered"


def test_an_out_of_period_record_earns_its_claim_when_the_years_plan_is_loaded(
    plans, union, write_csv
):
    # Given a 2027 stay of a member enrolled for 2027, imported before 2027's plan
    member = MemberFactory(union=union)
    year2027 = SchemeYearFactory(year=2027)
    EnrollmentFactory(
        member=member, scheme_year=year2027, union=union, enrolled_on=dt.date(2026, 10, 1)
    )
    EnrollmentFactory(
        member=member,
        scheme_year=plans[0].scheme_year,
        union=union,
        enrolled_on=dt.date(2025, 10, 1),
    )
    stay = {"base": "3000.00", "admit": "2027-02-01", "discharge": "2027-02-05"}
    s = settlement_import_file(path=write_csv([row("P1", member, **stay)])).summary
    assert s["out_of_period"] == 1
    # When 2027's plan is loaded
    text = PLAN_2026.read_text(encoding="utf-8").replace("2026", "2027")
    result = plan_load(source_text=text, source_name="2027.yaml")
    # Then the record is covered and its claim exists, priced under 2027's version 1
    assert result.follow_ups["readjudicated"]["created"] == 1
    claim = Claim.objects.get(settlement_id="P1")
    assert (claim.scheme_year.year, claim.plan_version_number, claim.amount_fen) == (
        2027,
        1,
        125000,
    )


def test_a_stay_already_claimed_gets_no_second_claim(plans, enroll, write_csv):
    idn = id_number()
    settlement_import_file(path=write_csv([row("L1", idn, **STAY)]))
    enroll(id_number=idn)
    settlements_readjudicate()
    SettlementRecord.objects.filter(settlement_id="L1").update(status="not_enrolled")
    assert settlements_readjudicate().summary()["created"] == 0
    assert Claim.objects.filter(settlement_id="L1").count() == 1


def test_records_of_people_still_not_enrolled_stay_refused(plans, enroll, write_csv):
    settlement_import_file(path=write_csv([row("N1", id_number(), **STAY)]))
    s = settlements_readjudicate().summary()
    assert (s["checked"], s["created"]) == (0, 0)
    assert SettlementRecord.objects.get(settlement_id="N1").status == "not_enrolled"


def test_the_command_prints_each_change_and_a_json_summary(plans, enroll, write_csv):
    idn, other = id_number(), id_number()
    settlement_import_file(path=write_csv([row("L1", idn, **STAY), row("N1", other, **STAY)]))
    enroll(id_number=idn)
    lines, summary = run_command("--year", "2026")
    assert "结算流水号 L1：未参保 → 可补助" in lines
    assert summary == {
        "command": "settlements-readjudicate",
        "years": [2026],
        "checked": 1,
        "changed": 1,
        "covered": 1,
        "not_enrolled": 0,
        "waiting_period": 0,
        "out_of_period": 0,
        "created": 1,
        "approved": 1,
        "for_review": 0,
        "approved_amount": "1250.00",
    }
    _, again = run_command()
    assert (again["years"], again["created"]) == (None, 0)


def test_the_command_refuses_a_year_without_a_plan(plans):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError) as exc:
        call_command("settlements-readjudicate", "--year", "2031", stdout=StringIO())
    assert exc.value.returncode == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="needs PostgreSQL (row locks / concurrency)"
)
def test_two_runs_and_an_import_at_once_create_each_claim_once(tmp_path):
    from huzhu.organizations.models import Union

    SchemeYearFactory(year=2026, waiting_period_days=90)
    plan_load(source_text=PLAN_2026.read_text(encoding="utf-8"), source_name="2026.yaml")
    union = Union.objects.create(code="WC1", name="并发工会")
    people = [id_number() for _ in range(12)]
    path = Path(tmp_path) / "late.csv"
    from tests.settlements.conftest import HEADER

    path.write_text(
        "\n".join([HEADER, *[row(f"C{i}", p, **STAY) for i, p in enumerate(people)]]) + "\n",
        encoding="utf-8",
    )
    settlement_import_file(path=path)
    later = Path(tmp_path) / "later.csv"
    later.write_text(
        "\n".join(
            [
                HEADER,
                *[
                    row(f"D{i}", p, **STAY | {"admit": "2026-07-01", "discharge": "2026-07-02"})
                    for i, p in enumerate(people)
                ],
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    for p in people:
        member = MemberFactory(id_number=p, union=union)
        EnrollmentFactory(
            member=member,
            scheme_year_id=SchemeYearFactory(year=2026).pk,
            union=union,
            enrolled_on=dt.date(2025, 10, 1),
        )
    errors = []
    barrier = threading.Barrier(3)

    def work(fn):
        try:
            barrier.wait()
            fn()
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(settlements_readjudicate,)),
        threading.Thread(target=work, args=(settlements_readjudicate,)),
        threading.Thread(target=work, args=(lambda: settlement_import_file(path=later),)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert Claim.objects.filter(settlement_id__startswith="C").count() == 12
    assert Claim.objects.filter(settlement_id__startswith="D").count() == 12
    assert not SettlementRecord.objects.filter(status="not_enrolled").exists()


def test_a_record_of_a_member_who_refused_consent_is_kept_for_review_not_paid(
    plans, enroll, write_csv
):
    from django.utils import timezone

    from huzhu.enrollment.consent import consent_text_current
    from huzhu.enrollment.models import MemberConsent
    from huzhu.settlements.frames import CONSENT_WITHHELD_REASON

    idn = id_number()
    settlement_import_file(path=write_csv([row("L1", idn, **STAY)]))
    m = enroll(id_number=idn)
    MemberConsent.objects.create(
        member=m,
        status="refused",
        source="enrollment",
        text=consent_text_current(),
        recorded_at=timezone.now(),
    )
    s = settlements_readjudicate().summary()
    assert (s["created"], s["approved"], s["for_review"]) == (1, 0, 1)
    claim = Claim.objects.get(settlement_id="L1")
    assert claim.status == "submitted" and CONSENT_WITHHELD_REASON in claim.review_reason
    record = SettlementRecord.objects.get(settlement_id="L1")
    assert CONSENT_WITHHELD_REASON in record.review_reason
