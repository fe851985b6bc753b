"""A record without its optional fields never blocks a batch, whichever path imports it
(new member-year in bulk, or a member-year with claims already, row by row)."""

import io
import json

import pytest
from django.core.management import call_command

from huzhu.claims.models import Claim
from huzhu.settlements.models import SettlementRowProblem
from huzhu.settlements.services import settlement_import_file
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db

# The file: no hospital, hospital_level, diagnosis_code, out_of_area, reverses.
MINIMAL_HEADER = (
    "settlement_id,id_number,name,admit_date,discharge_date,total_cost,fund_paid,"
    "self_pay_in_policy,self_pay_out_policy"
)


def minimal_file(tmp_path, member, *, sid="MIN1"):
    path = tmp_path / f"{sid}.csv"
    path.write_text(
        f"{MINIMAL_HEADER}\n"
        f"{sid},{member.id_number},{member.name},2026-01-02,2026-01-03,1000.00,500.00,400.00,100.00\n",
        encoding="utf-8",
    )
    return path


def test_record_without_hospital_for_a_member_with_a_claim_that_year_is_imported(
    plans, enroll, write_csv, tmp_path
):
    # Given a member who already has a claim this year (the row-by-row path)
    m = enroll(name="张三")
    settlement_import_file(
        path=write_csv([row("A1", m, admit="2026-01-05", discharge="2026-01-10")])
    )
    # When the bureau's file without a hospital column arrives, through the command
    out, err = io.StringIO(), io.StringIO()
    call_command("import-settlements", str(minimal_file(tmp_path, m)), stdout=out, stderr=err)
    # Then the record is imported, its claim made, and no traceback
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert (summary["created"], summary["invalid"]) == (1, 0), out.getvalue()
    claim = Claim.objects.get(settlement_id="MIN1")
    assert claim.hospital_name == "" and claim.status == "approved"
    assert not SettlementRowProblem.objects.exists()


def test_record_without_hospital_for_a_new_member_year_is_imported(plans, enroll, tmp_path):
    m = enroll(name="张三")
    result = settlement_import_file(path=minimal_file(tmp_path, m))
    assert (result.summary["created"], result.summary["invalid"]) == (1, 0)


def test_record_missing_a_required_field_is_a_named_row_error(plans, enroll, tmp_path):
    m = enroll(name="张三")
    other = enroll(name="李四")
    settlement_import_file(path=minimal_file(tmp_path, m, sid="OLD1"))
    path = tmp_path / "missing.csv"
    path.write_text(
        f"{MINIMAL_HEADER}\n"
        f"M1,{m.id_number},张三,2026-02-02,,1000.00,500.00,400.00,100.00\n"
        f"M2,{other.id_number},李四,2026-02-02,2026-02-03,1000.00,500.00,400.00,100.00\n",
        encoding="utf-8",
    )
    result = settlement_import_file(path=path)
    assert (result.summary["invalid"], result.summary["created"]) == (1, 1)
    problem = SettlementRowProblem.objects.get()
    assert (problem.row_number, problem.field) == (2, "discharge_date")  # line 2 of the file
