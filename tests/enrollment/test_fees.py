"""The fee statement: one row per active enrollment of the union and year, exact total."""

import io
from datetime import UTC, date, datetime

import openpyxl
import pytest

from huzhu.enrollment.fees import fee_statement_xlsx
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory, UnionFactory

pytestmark = pytest.mark.django_db


def test_statement_lists_members_fees_and_total():
    union, other = UnionFactory(code="W1", name="第一工会"), UnionFactory(code="W2")
    last, year = SchemeYearFactory(year=2025), SchemeYearFactory(year=2026)
    a = MemberFactory(union=union, name="张三")
    b = MemberFactory(union=union, name="李四")
    gone = MemberFactory(union=union, name="王五")
    EnrollmentFactory(member=a, scheme_year=last, union=union)
    EnrollmentFactory(member=a, scheme_year=year, union=union)
    EnrollmentFactory(member=b, scheme_year=year, union=union, enrolled_on=date(2025, 12, 1))
    EnrollmentFactory(
        member=gone, scheme_year=year, union=union, withdrawn_at=datetime(2025, 12, 2, tzinfo=UTC)
    )
    EnrollmentFactory(member=MemberFactory(union=other), scheme_year=year, union=other)

    data = fee_statement_xlsx(union=union, scheme_year=year)

    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    rows = [[c for c in row] for row in sheet.iter_rows(values_only=True)]
    assert "第一工会" in rows[1][0] and "人数：2" in rows[1][0]
    assert rows[2] == ["序号", "姓名", "身份证号", "参保日期", "类别", "保障起始日", "会费（元）"]
    body = rows[3:5]
    assert [r[1] for r in body] == ["张三", "李四"]
    assert body[0][2] == a.id_number[:6] + "********" + a.id_number[-4:]  # masked
    assert [r[4] for r in body] == ["续保", "新参保"]
    assert body[0][5].date() == date(2026, 1, 1)
    assert body[1][5].date() == date(2026, 3, 1)  # 2025-12-01 + 90 days
    assert [r[6] for r in body] == [60, 60]
    assert rows[5][0] == "合计" and rows[5][6] == 120
    assert len(rows) == 6


def test_empty_statement_is_still_a_workbook():
    data = fee_statement_xlsx(union=UnionFactory(code="W1"), scheme_year=SchemeYearFactory())
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    assert sheet.cell(4, 1).value == "合计"
