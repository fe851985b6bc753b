import io

import openpyxl
import pytest
from django.urls import reverse

from huzhu.audit.models import AuditEvent
from tests.factories import EnrollmentFactory, MemberFactory, SchemeYearFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def enrolled(tree):
    year = SchemeYearFactory(year=2026, fee_per_member_fen=6000)
    members = [MemberFactory(union=tree["a"], name=f"缴费{i}") for i in range(3)]
    for m in members:
        EnrollmentFactory(member=m, scheme_year=year)
    return members


def test_fee_statement_downloads_as_a_valid_xlsx(login, operator_a, tree, enrolled):
    response = login(operator_a).get(
        reverse("web:fee_statement_download", args=[tree["a"].pk, 2026])
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    cells = {
        str(c.value)
        for ws in workbook.worksheets
        for row in ws.iter_rows()
        for c in row
        if c.value is not None
    }
    for member in enrolled:
        assert member.name in cells
    # the export of personal data is logged
    assert AuditEvent.objects.filter(action="fee_statement.download", actor=operator_a).exists()


def test_fee_statement_of_another_union_is_404(login, operator_b, tree, enrolled):
    response = login(operator_b).get(
        reverse("web:fee_statement_download", args=[tree["a"].pk, 2026])
    )
    assert response.status_code == 404


def test_fee_statement_page_lists_unions_with_totals_in_yuan(login, finance, tree, enrolled):
    page = login(finance).get(reverse("web:fee_statements"), {"year": 2026}).content.decode()
    assert "180.00" in page  # 3 members x 60.00
    assert reverse("web:fee_statement_download", args=[tree["a"].pk, 2026]) in page
