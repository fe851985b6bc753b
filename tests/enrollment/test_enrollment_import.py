"""enrollment_import: messy office files, the checks, the policies, idempotency, renewals."""

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import PermissionDenied

from huzhu.audit.models import AuditEvent
from huzhu.core.tabular import TabularError
from huzhu.enrollment.models import Enrollment, EnrollmentImport
from huzhu.enrollment.services import enrollment_import
from huzhu.members.models import Member
from tests.enrollment.helpers import HEADER, csv_bytes, id_number, xlsx
from tests.factories import (
    EnrollmentFactory,
    MemberFactory,
    SchemeYearFactory,
    UnionFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 10)


@pytest.fixture
def union():
    return UnionFactory(code="W001", name="第一基层工会")


@pytest.fixture
def year():
    return SchemeYearFactory(year=2026)


def run(data, union, year, **kwargs):
    kwargs.setdefault("today", TODAY)
    return enrollment_import(
        data=data, file_name="名单.xlsx", union=union, scheme_year=year, **kwargs
    )


def codes(result):
    return [(p.row, p.column, p.code) for p in result.problems]


def test_clean_file_enrolls_everyone(union, year):
    a, b = id_number(), id_number(female=True)
    data = xlsx(
        [
            ["张三", a, "13812345678", "中国工商银行嵊州支行", "6222021234567890123"],
            ["李四", b, "13912345678", None, None],
        ]
    )
    result = run(data, union, year)
    assert result.summary == {
        "rows": 2,
        "enrolled": 2,
        "renewals": 0,
        "already_enrolled": 0,
        "errors": 0,
        "not_consented": 0,
    }
    assert result.written and result.batch_id is not None
    assert [p.status for p in result.preview] == ["new", "new"]
    member = Member.objects.get(id_number=a)
    assert (member.name, member.phone, member.union) == ("张三", "13812345678", union)
    assert member.sex == "male" and member.birth_date == date(int(a[6:10]), 6, 15)
    assert member.bank_account == "6222021234567890123"
    assert member.bank_name == "中国工商银行嵊州支行"
    assert Member.objects.get(id_number=b).sex == "female"
    enrollment = Enrollment.objects.get(member=member)
    assert enrollment.scheme_year == year and enrollment.union == union
    assert enrollment.enrolled_on == TODAY and enrollment.fee_fen == 6000
    assert enrollment.import_batch_id == result.batch_id
    batch = EnrollmentImport.objects.get(pk=result.batch_id)
    assert batch.summary == result.summary and batch.policy == "all_or_nothing"
    assert AuditEvent.objects.filter(action="enrollment.import", object_id=str(batch.pk)).exists()


def test_messy_office_file(union, year):
    """Title rows merged above the header, full-width digits and ｘ, trailing spaces, blank
    rows, a phone stored as a number, names typed with alignment spaces."""
    a = id_number()
    x_id = "33068319700305869X"  # a real check digit X
    full_width = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else "ｘ" for c in x_id)
    data = xlsx(
        [
            ["王  芳", a + "  ", 13812345678, " 中国农业银行 ", "6228 4800 1234 5678 901"],
            [None, None, None, None, None],
            [],
            ["李四 ", full_width, "138-1234-5679", None, None],
        ],
        title="嵊州市第一基层工会2026年度职工医疗互助参保名单",
    )
    result = run(data, union, year)
    assert result.problems == []
    assert result.summary["rows"] == 2 and result.summary["enrolled"] == 2
    assert [p.row for p in result.preview] == [3, 6]  # spreadsheet rows, as the user sees them
    wang = Member.objects.get(id_number=a)
    assert (wang.name, wang.phone, wang.bank_name) == ("王芳", "13812345678", "中国农业银行")
    assert wang.bank_account == "6228480012345678901"
    li = Member.objects.get(id_number=x_id)
    assert (li.name, li.phone) == ("李四", "13812345679")


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        (330683197306063816, "excel_mangled"),  # a numeric cell: Excel kept 15 digits
        (3.30683e17, "excel_mangled"),
        ("3.30683E+17", "excel_mangled"),  # the text Excel shows for it
        ("330683197306063817", "bad_check_digit"),
        ("33068319730606381", "bad_length"),
        ("33068319730230381X", "bad_birth_date"),
        (None, "missing_id_number"),
    ],
)
def test_bad_id_numbers_are_refused_with_their_reason(union, year, cell, code):
    data = xlsx([["张三", id_number(), None, None, None], ["李四", cell, None, None, None]])
    result = run(data, union, year)
    assert codes(result) == [(3, "身份证号", code)]
    assert result.summary["errors"] == 1
    assert not result.written and result.batch_id is None
    assert Member.objects.count() == 0 and Enrollment.objects.count() == 0


def test_excel_mangled_message_names_the_cause(union, year):
    data = xlsx([["张三", 330683197306063816, None, None, None]])
    (problem,) = run(data, union, year).problems
    assert "3.30683E+17" in problem.message and "文本" in problem.message
    assert problem.as_line().startswith("第2行 身份证号: ")


def test_every_problem_of_every_row_is_listed(union, year):
    a = id_number()
    data = xlsx(
        [
            ["张三", a, "1381234567", None, None],  # bad phone
            [None, id_number(), None, None, None],  # missing name
            ["张三", a, None, None, None],  # duplicate within the file
            ["赵六", id_number(), None, None, 6.22202123456789e18],  # mangled account
            ["钱七", id_number(), None, None, "12345"],  # too short for an account
        ]
    )
    result = run(data, union, year)
    assert codes(result) == [
        (2, "手机号", "bad_phone"),
        (3, "姓名", "missing_name"),
        (4, "身份证号", "duplicate_in_file"),
        (5, "银行账号", "excel_mangled"),
        (6, "银行账号", "bad_bank_account"),
    ]
    assert "第2行" in result.problems[2].message
    assert result.summary == {
        "rows": 5,
        "enrolled": 0,
        "renewals": 0,
        "already_enrolled": 0,
        "errors": 5,
        "not_consented": 0,
    }
    assert [p.status for p in result.preview] == ["error"] * 5


def test_valid_only_imports_the_valid_rows_and_reports_the_rest(union, year):
    good, bad = id_number(), "330683197306063817"
    data = xlsx([["张三", good, None, None, None], ["李四", bad, None, None, None]])
    result = run(data, union, year, valid_only=True)
    assert result.written
    assert result.summary == {
        "rows": 2,
        "enrolled": 1,
        "renewals": 0,
        "already_enrolled": 0,
        "errors": 1,
        "not_consented": 0,
    }
    assert codes(result) == [(3, "身份证号", "bad_check_digit")]
    assert [m.id_number for m in Member.objects.all()] == [good]
    batch = EnrollmentImport.objects.get(pk=result.batch_id)
    assert batch.policy == "valid_only"
    assert (
        batch.report[0]["row"] == 3 and batch.report[0]["problems"][0]["code"] == "bad_check_digit"
    )


def test_same_file_again_changes_nothing(union, year):
    data = xlsx(
        [
            ["张三", id_number(), "13812345678", "工行", "6222021234567890123"],
            ["李四", id_number(), None, None, None],
        ]
    )
    first = run(data, union, year)
    snapshot = list(Member.objects.values_list("id", "updated_at", "bank_account_encrypted"))
    enrollments = list(Enrollment.objects.values_list("id", "enrolled_on"))

    second = run(data, union, year, today=date(2026, 3, 1))

    assert first.summary["enrolled"] == 2
    assert second.summary == {
        "rows": 2,
        "enrolled": 0,
        "renewals": 0,
        "already_enrolled": 2,
        "errors": 0,
        "not_consented": 0,
    }
    assert [p.status for p in second.preview] == ["already_enrolled"] * 2
    assert [p.enrolled_on for p in second.preview] == [TODAY, TODAY]  # the stored date
    assert (
        list(Member.objects.values_list("id", "updated_at", "bank_account_encrypted")) == snapshot
    )
    assert list(Enrollment.objects.values_list("id", "enrolled_on")) == enrollments


def test_renewal_is_derived_from_last_years_enrollment_through_any_union(union, year):
    other = UnionFactory(code="W002")
    last_year = SchemeYearFactory(year=2025)
    renewing = MemberFactory(union=other, name="张三")
    EnrollmentFactory(member=renewing, scheme_year=last_year, union=other)
    data = xlsx(
        [["张三", renewing.id_number, None, None, None], ["李四", id_number(), None, None, None]]
    )

    result = run(data, union, year)

    assert [p.status for p in result.preview] == ["renewal", "new"]
    assert result.summary["enrolled"] == 2 and result.summary["renewals"] == 1
    renewing.refresh_from_db()
    assert renewing.union == union  # the current union follows the latest year


def test_withdrawn_enrollment_counts_neither_for_renewal_nor_for_the_one_per_year_rule(union, year):
    other = UnionFactory(code="W002")
    member = MemberFactory(union=other, name="张三")
    withdrawn = datetime(2024, 12, 1, tzinfo=UTC)
    last_year = SchemeYearFactory(year=2025)
    EnrollmentFactory(member=member, scheme_year=last_year, union=other, withdrawn_at=withdrawn)
    EnrollmentFactory(member=member, scheme_year=year, union=other, withdrawn_at=withdrawn)
    result = run(xlsx([["张三", member.id_number, None, None, None]]), union, year)
    assert result.problems == []
    assert result.preview[0].status == "new"
    assert (
        Enrollment.objects.filter(member=member, scheme_year=year, withdrawn_at=None).get().union
        == union
    )


def test_enrolled_through_another_union_this_year_is_an_error(union, year):
    other = UnionFactory(code="W002", name="第二基层工会")
    member = MemberFactory(union=other, name="张三")
    EnrollmentFactory(member=member, scheme_year=year, union=other)
    result = run(xlsx([["张三", member.id_number, None, None, None]]), union, year)
    assert codes(result) == [(2, "身份证号", "enrolled_elsewhere")]
    assert "第二基层工会" in result.problems[0].message


def test_name_differing_from_the_registry_is_an_error(union, year):
    member = MemberFactory(union=union, name="张三丰")
    result = run(xlsx([["张三", member.id_number, None, None, None]]), union, year)
    assert codes(result) == [(2, "姓名", "name_mismatch")]
    assert "张三丰" not in result.problems[0].message  # the registry's name stays masked


def test_existing_member_details_are_updated_blank_cells_keep_them(union, year):
    member = MemberFactory(union=union, name="张三", phone="13800000000", bank_name="工行")
    member.bank_account = "6222020000000000001"
    member.save()
    data = xlsx([["张三", member.id_number, "13912345678", None, "6222029999999999999"]])
    run(data, union, year)
    member.refresh_from_db()
    assert member.phone == "13912345678"
    assert member.bank_name == "工行"  # blank in the file: kept
    assert member.bank_account == "6222029999999999999"


def test_loading_an_older_year_does_not_overwrite_newer_details(union, year):
    newer_union = UnionFactory(code="W009")
    member = MemberFactory(union=newer_union, name="张三", phone="13800000000")
    EnrollmentFactory(member=member, scheme_year=year, union=newer_union)
    old_year = SchemeYearFactory(year=2025)
    data = xlsx([["张三", member.id_number, "13911111111", None, None]])
    result = run(data, union, old_year, enrolled_on=date(2024, 11, 20))
    assert result.summary["enrolled"] == 1
    member.refresh_from_db()
    assert (member.phone, member.union) == ("13800000000", newer_union)
    assert Enrollment.objects.get(member=member, scheme_year=old_year).enrolled_on == date(
        2024, 11, 20
    )


def test_enrollment_date_column_then_flag_then_today(union, year):
    a, b, c = id_number(), id_number(), id_number()
    data = xlsx(
        [
            ["张三", a, None, None, None, date(2025, 11, 3)],
            ["李四", b, None, None, None, "2025/12/1"],
            ["王五", c, None, None, None, None],
        ],
        header=[*HEADER, "参保日期"],
    )
    run(data, union, year, enrolled_on=date(2025, 10, 8))
    dates = {e.member.id_number: e.enrolled_on for e in Enrollment.objects.select_related("member")}
    assert dates == {a: date(2025, 11, 3), b: date(2025, 12, 1), c: date(2025, 10, 8)}


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("2026-13-01", "bad_date"),
        ("明年", "bad_date"),
        (date(2026, 2, 1), "future_date"),  # after today
        (date(2024, 6, 1), "date_out_of_range"),  # over a year before the scheme year
    ],
)
def test_bad_enrollment_dates(union, year, cell, code):
    data = xlsx(
        [["张三", id_number(), None, None, None, cell]],
        header=[*HEADER, "参保日期"],
    )
    assert codes(run(data, union, year)) == [(2, "参保日期", code)]


def test_english_headers_and_gbk_csv(union, year):
    a = id_number()
    data = csv_bytes(
        [["张三", a, "13812345678"]], header=["name", "id_number", "phone"], encoding="gbk"
    )
    result = enrollment_import(
        data=data, file_name="members.csv", union=union, scheme_year=year, today=TODAY
    )
    assert result.encoding == "gb18030"
    assert result.summary["enrolled"] == 1
    assert Member.objects.get(id_number=a).name == "张三"


def test_csv_with_excel_mangled_ids(union, year):
    data = csv_bytes([["张三", "3.30683E+17", ""]], header=["姓名", "身份证号", "手机号"])
    result = run(data, union, year)
    assert codes(result) == [(2, "身份证号", "excel_mangled")]


def test_dry_run_reports_what_would_happen_and_writes_nothing(union, year):
    data = xlsx([["张三", id_number(), None, None, None]])
    result = run(data, union, year, dry_run=True)
    assert not result.written and result.batch_id is None
    assert result.summary["enrolled"] == 1
    assert Member.objects.count() == 0 and EnrollmentImport.objects.count() == 0


def test_unreadable_file_raises_tabular_error(union, year):
    with pytest.raises(TabularError):
        run(b"PK\x03\x04garbage", union, year)
    with pytest.raises(TabularError) as exc:
        run(xlsx([["x"]], header=["姓名", "电话"]), union, year)
    assert "身份证号" in exc.value.message


def test_operator_cannot_import_into_another_union(union, year):
    operator = UserFactory(union=UnionFactory(code="W777"))
    with pytest.raises(PermissionDenied):
        run(xlsx([["张三", id_number(), None, None, None]]), union, year, acting_user=operator)
    own = UserFactory(union=union)
    result = run(xlsx([["张三", id_number(), None, None, None]]), union, year, acting_user=own)
    assert EnrollmentImport.objects.get(pk=result.batch_id).created_by == own


def test_preview_masks_id_numbers(union, year):
    a = id_number()
    result = run(xlsx([["张三", a, None, None, None]]), union, year, dry_run=True)
    assert result.preview[0].id_number_masked == a[:6] + "********" + a[-4:]


def test_text_marks_old_exports_put_on_numbers(union, year):
    """`'330683...` typed to keep Excel off, and `="330683..."` from older systems' CSV."""
    a, b = id_number(), id_number()
    data = csv_bytes(
        [["张三", f"'{a}", "'13812345678"], ["李四", f'="{b}"', '="13912345678"']],
        header=["姓名", "身份证号", "手机号"],
    )
    result = run(data, union, year)
    assert result.problems == []
    assert {m.id_number: m.phone for m in Member.objects.all()} == {
        a: "13812345678",
        b: "13912345678",
    }


def test_new_enrollment_whose_cover_would_start_after_the_year_is_refused(union, year):
    # Given a new member enrolled on 2026-12-04 into 2026 (90 days' waiting period: cover
    # would start 2027-03-04, after the period ends) and a renewal member enrolled that day
    renewing = id_number()
    EnrollmentFactory(
        member=MemberFactory(id_number=renewing, name="王五", union=union),
        scheme_year=SchemeYearFactory(year=2025),
        union=union,
    )
    data = xlsx([["张三", id_number(), None, None, None], ["王五", renewing, None, None, None]])
    # When the file is imported on that day
    result = run(data, union, year, today=date(2026, 12, 4))
    # Then the new member's row is refused, named, with the reason and the next year
    assert codes(result) == [(2, "参保日期", "no_cover_in_year")]
    message = result.problems[0].message
    assert "2027-03-04" in message and "2026-12-31" in message and "2027年度" in message
    assert not result.written and Enrollment.objects.filter(scheme_year=year).count() == 0
    # and with "valid rows only" the renewal (covered from the year's start) still enrolls
    result = run(data, union, year, today=date(2026, 12, 4), valid_only=True)
    assert result.summary["enrolled"] == 1 and result.summary["renewals"] == 1


def test_new_enrollment_whose_cover_starts_on_the_last_day_is_accepted(union, year):
    data = xlsx([["张三", id_number(), None, None, None]])
    result = run(data, union, year, today=date(2026, 10, 2))  # + 90 days = 2026-12-31
    assert result.summary["enrolled"] == 1 and not result.problems
