"""Text a record cannot hold refuses that row by name; the rest of the file goes on."""

import pytest

from huzhu.settlements.models import SettlementRecord, SettlementRowProblem
from huzhu.settlements.services import settlement_import_file
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db


def test_import_file_with_a_nul_character_refuses_that_row_only(plans, enroll, write_csv):
    m = enroll(name="赵六")
    path = write_csv([row("F1", m, hospital="嵊州\x00医院"), row("F2", m, discharge="2026-03-11")])
    result = settlement_import_file(path=path)
    assert (result.summary["invalid"], result.summary["created"]) == (1, 1)
    problem = SettlementRowProblem.objects.get()
    assert (problem.row_number, problem.field, problem.code) == (2, "hospital", "nul_character")
    assert list(SettlementRecord.objects.values_list("settlement_id", flat=True)) == ["F2"]


def test_too_long_text_keeps_its_code(plans, enroll, write_csv):
    m = enroll(name="赵六")
    path = write_csv([row("F1", m, hospital="院" * 129)])
    result = settlement_import_file(path=path)
    assert result.summary["invalid"] == 1
    problem = SettlementRowProblem.objects.get()
    assert (problem.field, problem.code) == ("hospital", "too_long")
