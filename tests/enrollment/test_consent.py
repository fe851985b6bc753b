"""Consent at enrollment (PIPL art. 29): the import records the attestation per batch, the
optional 同意书 column marks members who did not consent, the summary counts them."""

import io
import json
from datetime import date

import pytest
from django.core.management import call_command

from huzhu.audit.models import AuditEvent
from huzhu.enrollment.consent import (
    consent_state,
    consent_text_current,
    consent_text_publish,
    consent_withheld_member_ids,
)
from huzhu.enrollment.models import ConsentText, EnrollmentImport, MemberConsent
from huzhu.enrollment.rowchecks import parse_consent_cell
from huzhu.enrollment.services import enrollment_import
from huzhu.members.models import Member
from tests.enrollment.helpers import HEADER, csv_bytes, id_number, xlsx
from tests.factories import SchemeYearFactory, UnionFactory, UserFactory, consent_answered

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 10)
WITH_CONSENT = [*HEADER, "同意书"]


@pytest.fixture
def union():
    return UnionFactory(code="W001", name="第一基层工会")


@pytest.fixture
def year():
    return SchemeYearFactory(year=2026)


@pytest.fixture
def operator(union):
    return UserFactory(username="op1", role="union_operator", union=union, first_name="经办人")


def run(data, union, year, **kwargs):
    kwargs.setdefault("today", TODAY)
    return enrollment_import(
        data=data, file_name="名单.xlsx", union=union, scheme_year=year, **kwargs
    )


def member(number):
    return Member.objects.get(id_number=number)


def test_the_migration_publishes_a_first_text_naming_what_who_why_how_long():
    text = consent_text_current()
    assert text.version == 1
    for words in ("医保结算", "银行账号", "嵊州市总工会", "自动计算并发放", "五年", "撤回"):
        assert words in text.body


def test_without_the_column_every_member_is_attested_by_the_operator(union, year, operator):
    a, b = id_number(), id_number()
    result = run(
        xlsx([["张三", a, None, None, None], ["李四", b, None, None, None]]),
        union,
        year,
        acting_user=operator,
    )
    assert result.summary["not_consented"] == 0
    batch = EnrollmentImport.objects.get(pk=result.batch_id)
    assert batch.consent_text == consent_text_current()
    assert batch.consent_attested_by == operator and batch.consent_attested_at is not None
    assert not MemberConsent.objects.exists()  # the batch holds it for every member
    state = consent_state(member(a))
    assert (state.status, state.version, state.withheld) == ("given", 1, False)
    assert "经办人确认" in state.detail
    event = AuditEvent.objects.get(action="consent.enrollment")
    assert event.after["attested"] is True and event.after["version"] == 1


@pytest.mark.parametrize("no", ["否", "不同意", "N", "no", " NO ", "0", "×", "未签"])
def test_a_no_in_the_column_records_a_refusal_and_the_summary_counts_it(union, year, no):
    a, b, c = id_number(), id_number(), id_number()
    data = xlsx(
        [
            ["张三", a, None, None, None, no],
            ["李四", b, None, None, None, "是"],
            ["王五", c, None, None, None, None],
        ],
        header=WITH_CONSENT,
    )
    result = run(data, union, year)
    assert result.written and result.summary["enrolled"] == 3
    assert result.summary["not_consented"] == 1
    assert consent_withheld_member_ids() == [member(a).pk]
    record = MemberConsent.objects.get()
    assert (record.status, record.source, record.enrollment_import_id) == (
        "refused",
        "enrollment",
        result.batch_id,
    )
    assert consent_state(member(a)).withheld
    assert consent_state(member(b)).status == consent_state(member(c)).status == "given"
    event = AuditEvent.objects.get(action="consent.enrollment")
    assert event.after["refused_member_ids"] == [member(a).pk]


def test_english_header_and_yes_no_values_and_csv(union, year):
    a, b = id_number(), id_number()
    data = csv_bytes(
        [["Zhang", a, "", "", "", "yes"], ["Li", b, "", "", "", "No"]],
        header=["name", "id_number", "phone", "bank_name", "bank_account", "consent"],
    )
    # Latin names are not valid member names here: use Chinese ones, the column is the point.
    data = data.replace(b"Zhang", "张三".encode()).replace(b"Li,", "李四,".encode())
    result = run(data, union, year)
    assert result.summary["not_consented"] == 1
    assert consent_withheld_member_ids() == [member(b).pk]


def test_a_bad_value_is_a_named_row_error_and_refuses_the_file(union, year):
    a, b = id_number(), id_number()
    data = xlsx(
        [["张三", a, None, None, None, "是"], ["李四", b, None, None, None, "可能"]],
        header=WITH_CONSENT,
    )
    result = run(data, union, year)
    assert not result.written
    assert [(p.row, p.column, p.code) for p in result.problems] == [(3, "同意书", "bad_consent")]
    assert "“可能”" in result.problems[0].message and "是" in result.problems[0].message
    assert not Member.objects.exists() and not MemberConsent.objects.exists()
    assert result.summary["not_consented"] == 0


def test_preview_counts_the_refusals_and_writes_nothing(union, year):
    data = xlsx([["张三", id_number(), None, None, None, "否"]], header=WITH_CONSENT)
    result = run(data, union, year, dry_run=True)
    assert result.summary["not_consented"] == 1 and not result.written
    assert not MemberConsent.objects.exists()


def test_the_same_file_again_changes_nothing_and_a_later_form_reverses_a_refusal(union, year):
    a = id_number()
    refusing = xlsx([["张三", a, None, None, None, "否"]], header=WITH_CONSENT)
    run(refusing, union, year)
    before = list(MemberConsent.objects.values_list("member_id", "status", "recorded_at"))
    again = run(refusing, union, year)
    assert again.summary["already_enrolled"] == 1 and again.summary["not_consented"] == 1
    assert list(MemberConsent.objects.values_list("member_id", "status", "recorded_at")) == before
    # Next year's form, signed: a blank cell under the operator's attestation gives consent.
    nxt = SchemeYearFactory(year=2027)
    run(xlsx([["张三", a, None, None, None]]), union, nxt, today=date(2027, 1, 5))
    assert MemberConsent.objects.get().status == "given"
    assert consent_withheld_member_ids() == []


def test_a_withdrawal_on_m_is_reversed_only_by_an_explicit_yes(union, year):
    a = id_number()
    run(xlsx([["张三", a, None, None, None]]), union, year)
    consent_answered(member(a), accept=False)  # withdrawn by the member on /m/
    nxt = SchemeYearFactory(year=2027)
    run(xlsx([["张三", a, None, None, None]]), union, nxt, today=date(2027, 1, 5))
    assert consent_withheld_member_ids() == [member(a).pk]  # blank does not override it
    later = SchemeYearFactory(year=2028)
    run(
        xlsx([["张三", a, None, None, None, "是"]], header=WITH_CONSENT),
        union,
        later,
        today=date(2028, 1, 5),
    )
    assert consent_withheld_member_ids() == []
    assert MemberConsent.objects.get().member_answered_version == 1  # still answered on /m/


def test_without_attestation_the_batch_records_none(union, year):
    a = id_number()
    result = run(xlsx([["张三", a, None, None, None]]), union, year, consent_attested=False)
    assert EnrollmentImport.objects.get(pk=result.batch_id).consent_text is None
    assert consent_state(member(a)).status == "unknown"


def test_command_attests_by_default_and_prints_the_refusals(union, year, tmp_path):
    a, b = id_number(), id_number()
    path = tmp_path / "名单.xlsx"
    path.write_bytes(
        xlsx(
            [["张三", a, None, None, None, "否"], ["李四", b, None, None, None, ""]],
            header=WITH_CONSENT,
        )
    )
    out = io.StringIO()
    call_command(
        "import-enrollment",
        str(path),
        "--union",
        "W001",
        "--year",
        "2026",
        "--enrolled-on",
        "2025-12-01",
        stdout=out,
    )
    lines = out.getvalue().strip().splitlines()
    summary = json.loads(lines[-1])
    assert summary["not_consented"] == 1 and summary["enrolled"] == 2
    assert any("1 名职工未同意" in line for line in lines)
    batch = EnrollmentImport.objects.get()
    assert batch.consent_text_id and batch.consent_attested_at and batch.consent_attested_by is None
    assert "命令行导入" in consent_state(member(b)).detail


def test_command_can_load_without_attesting(union, year, tmp_path):
    path = tmp_path / "名单.xlsx"
    path.write_bytes(xlsx([["张三", id_number(), None, None, None]]))
    call_command(
        "import-enrollment",
        str(path),
        "--union",
        "W001",
        "--year",
        "2026",
        "--enrolled-on",
        "2025-12-01",
        "--no-consent-attestation",
        stdout=io.StringIO(),
    )
    assert EnrollmentImport.objects.get().consent_attested_at is None


def test_cell_values():
    assert parse_consent_cell(None) is None and parse_consent_cell("  ") is None
    assert parse_consent_cell(True) is True and parse_consent_cell(0) is False
    assert parse_consent_cell(1.0) is True and parse_consent_cell("已签署") is True
    for bad in ("maybe", "2", 3, "是否"):
        with pytest.raises(ValueError):
            parse_consent_cell(bad)


def test_publishing_a_version_numbers_it_and_audits(operator):
    admin = UserFactory(username="adm", role="admin")
    text = consent_text_publish(title="个人信息处理同意书", body="新" * 60, acting_user=admin)
    assert text.version == 2 and consent_text_current() == text
    assert ConsentText.objects.count() == 2
    event = AuditEvent.objects.get(action="consent.text_publish")
    assert event.actor == admin and event.after["version"] == 2
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        consent_text_publish(title="x", body="太短", acting_user=admin)


def test_the_template_has_the_consent_column_the_import_reads(union, year, operator):
    import openpyxl

    from huzhu.enrollment.sheets import CONSENT_CHOICES, enrollment_template_xlsx

    # Given the template a workplace downloads, filled in: one 否, one 是, one blank
    book = openpyxl.load_workbook(io.BytesIO(enrollment_template_xlsx()))
    sheet = book["参保名单"]
    headers = [c.value for c in sheet[1]]
    assert headers[-1] == "同意书"
    lists = [v for v in sheet.data_validations.dataValidation if v.type == "list"]
    assert [v.formula1 for v in lists] == ['"是,否"'] and CONSENT_CHOICES == ["是", "否"]
    assert "同意书" in "".join(c.value or "" for c in book["填写说明"]["A"])
    refused, given, blank = id_number(), id_number(), id_number()
    for row, (name, number, answer) in enumerate(
        [("张三", refused, "否"), ("李四", given, "是"), ("王五", blank, None)], start=2
    ):
        sheet.cell(row, headers.index("姓名") + 1, name)
        sheet.cell(row, headers.index("身份证号") + 1, number)
        sheet.cell(row, headers.index("同意书") + 1, answer)
    out = io.BytesIO()
    book.save(out)
    # When it is imported, Then the 否 is recorded as a refusal, the others as consent
    result = run(out.getvalue(), union, year, acting_user=operator)
    assert result.summary["enrolled"] == 3 and result.summary["not_consented"] == 1
    assert consent_withheld_member_ids() == [member(refused).pk]
    assert consent_state(member(given)).status == "given"
