"""The enrollment import page: upload -> preview (every row's problems) -> confirm."""

import datetime as dt
import io
import re

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from huzhu.enrollment.models import Enrollment, EnrollmentImport
from huzhu.members.models import Member
from tests.factories import SchemeYearFactory, make_id_number

pytestmark = pytest.mark.django_db


def _xlsx(rows, *, title="2026年度职工医疗互助参保名单") -> bytes:
    """A sheet as offices keep it: a merged title row, then the header, then the rows."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append([title])
    ws.merge_cells("A1:E1")
    ws.append(["姓名", "身份证号", "手机号", "开户银行", "银行账号"])
    for row in rows:
        ws.append(list(row))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "赵敏", "黄勇"]


def _good(n: int):
    return [
        (NAMES[i], make_id_number(dt.date(1980, 1, 1 + i)), f"1380000{i:04d}", "农业银行", "")
        for i in range(n)
    ]


def _with_problems():
    good = _good(3)
    bad_check = make_id_number(dt.date(1975, 5, 5))
    bad_check = bad_check[:-1] + ("0" if bad_check[-1] != "0" else "1")
    mangled = float(make_id_number(dt.date(1970, 7, 7))[:17] + "1")  # a numeric cell
    return good + [
        ("错校验", bad_check, "13800001111", "", ""),  # row 6
        ("被转数字", mangled, "13800002222", "", ""),  # row 7
        ("", make_id_number(dt.date(1990, 2, 2)), "13800003333", "", ""),  # row 8: no name
        ("坏号码", make_id_number(dt.date(1991, 3, 3)), "2380000444", "", ""),  # row 9
    ]


def _upload(client, data: bytes, *, name="名单.xlsx", **extra):
    # Enrolled before 2026 starts: with today's date a new member's cover could start after
    # 2026 ends (refused), depending on the day the suite runs.
    payload = {
        "scheme_year": SchemeYearFactory(year=2026).pk,
        "enrolled_on": "2025-12-01",
        "consent_attested": "on",  # the operator ticks the consent attestation
    }
    payload.update(extra)
    payload["file"] = SimpleUploadedFile(name, data)
    return client.post(reverse("web:enrollment_import"), payload)


def _token(response) -> str:
    assert response.status_code == 302, response.content.decode()[:2000]
    match = re.search(r"/enrollment/import/([A-Za-z0-9_-]+)/$", response["Location"])
    assert match, response["Location"]
    return match.group(1)


def _confirm(client, token, policy="all"):
    return client.post(reverse("web:enrollment_import_confirm", args=[token]), {"policy": policy})


def test_preview_lists_every_row_and_every_rows_problems_and_writes_nothing(
    login, operator_a, upload_dir
):
    client = login(operator_a)
    token = _token(_upload(client, _xlsx(_with_problems())))
    # the bytes are kept server-side under the token, nowhere the client chose
    assert (upload_dir / token).is_file()

    response = client.get(reverse("web:enrollment_import_preview", args=[token]))
    assert response.status_code == 200
    page = response.content.decode()
    rows = {r.row: r for r in response.context["page"].object_list}
    assert sorted(rows) == [3, 4, 5, 6, 7, 8, 9]
    assert [p.code for p in rows[6].problems] == ["bad_check_digit"]
    # phones are shown masked, as on every staff list; a refused one as typed
    assert rows[3].phone == "138****0000" and "13800000000" not in page
    assert rows[9].phone == "2380000444" and [p.code for p in rows[9].problems] == ["bad_phone"]
    assert [p.code for p in rows[7].problems] == ["excel_mangled"]
    assert rows[8].problems[0].column == "姓名"
    assert "身份证号校验位错误" in page
    assert "3.30683E+17" in page  # the mangled message says what happened
    assert response.context["summary"]["errors"] == 4
    # the all-or-nothing button is disabled, the valid-only one offered
    assert re.search(r'value="all"\s+disabled', page)
    assert "只导入无误的行（3 行）" in page
    assert not Enrollment.objects.exists() and not Member.objects.exists()


def test_paging_a_preview_does_not_read_the_file_again(login, operator_a, upload_dir, monkeypatch):
    client = login(operator_a)
    token = _token(_upload(client, _xlsx(_with_problems())))
    first = client.get(reverse("web:enrollment_import_preview", args=[token]))
    assert first.status_code == 200

    def no_second_read(*args, **kwargs):
        raise AssertionError("the preview read the whole file again")

    monkeypatch.setattr("huzhu.enrollment.imports.read_table", no_second_read)
    url = reverse("web:enrollment_import_preview", args=[token])
    again = client.get(url + "?only=errors&page=1")
    assert again.status_code == 200
    assert [r.row for r in again.context["page"].object_list] == [6, 7, 8, 9]
    # The confirmation checks the file anew (here: it would read it again).
    with pytest.raises(AssertionError, match="read the whole file again"):
        _confirm(client, token)
    # Cancelling deletes the upload and its kept preview.
    monkeypatch.undo()
    client.post(reverse("web:enrollment_import_cancel", args=[token]))
    assert list(upload_dir.iterdir()) == []


def test_confirm_all_or_nothing_writes_a_clean_file(login, operator_a, tree, upload_dir):
    client = login(operator_a)
    token = _token(_upload(client, _xlsx(_good(4))))
    preview = client.get(reverse("web:enrollment_import_preview", args=[token])).content.decode()
    assert "确认导入（写入 4 条参保记录）" in preview

    response = _confirm(client, token)
    assert response.status_code == 200
    assert response.context["summary"]["enrolled"] == 4
    assert Enrollment.objects.filter(union=tree["a"], scheme_year__year=2026).count() == 4
    # the upload is gone once used, and the token no longer works
    assert not (upload_dir / token).exists()
    again = _confirm(client, token)
    assert again.status_code == 302
    assert Enrollment.objects.count() == 4


def test_confirm_all_with_problems_writes_nothing(login, operator_a):
    client = login(operator_a)
    token = _token(_upload(client, _xlsx(_with_problems())))
    response = _confirm(client, token, "all")
    assert response.status_code == 400
    assert "未写入任何记录" in response.content.decode()
    assert not Enrollment.objects.exists()


def test_valid_only_writes_the_valid_rows_and_reports_the_rest(login, operator_a, tree):
    client = login(operator_a)
    token = _token(_upload(client, _xlsx(_with_problems())))
    response = _confirm(client, token, "valid_only")
    assert response.status_code == 200
    assert Enrollment.objects.filter(union=tree["a"]).count() == 3
    assert sorted(r.row for r in response.context["error_rows"]) == [6, 7, 8, 9]
    assert "身份证号校验位错误" in response.content.decode()


def test_uploading_the_same_file_again_writes_nothing(login, operator_a):
    client = login(operator_a)
    data = _xlsx(_good(3))
    _confirm(client, _token(_upload(client, data)))
    assert Enrollment.objects.count() == 3
    enrollments_before = list(Enrollment.objects.values_list("id", "enrolled_on"))

    token = _token(_upload(client, data))
    preview = client.get(reverse("web:enrollment_import_preview", args=[token]))
    assert preview.context["summary"]["already_enrolled"] == 3
    response = _confirm(client, token)
    assert response.status_code == 200
    assert response.context["summary"]["enrolled"] == 0
    assert list(Enrollment.objects.values_list("id", "enrolled_on")) == enrollments_before
    assert Member.objects.count() == 3


def test_csv_upload_in_gbk_is_previewed(login, operator_a):
    text = "姓名,身份证号,手机号\r\n" + "".join(
        f"{name},{idn},{phone}\r\n" for name, idn, phone, _b, _a in _good(2)
    )
    client = login(operator_a)
    token = _token(_upload(client, text.encode("gbk"), name="名单.csv"))
    response = client.get(reverse("web:enrollment_import_preview", args=[token]))
    assert response.context["summary"]["rows"] == 2
    assert "gb18030" in response.content.decode().lower()


def test_operator_imports_for_own_union_whatever_the_form_says(login, operator_a, tree):
    client = login(operator_a)
    token = _token(_upload(client, _xlsx(_good(2)), union=tree["b"].pk))
    _confirm(client, token)
    assert set(Enrollment.objects.values_list("union_id", flat=True)) == {tree["a"].id}


def test_federation_staff_choose_the_union(login, reviewer, tree):
    client = login(reviewer)
    response = _upload(client, _xlsx(_good(1)))
    assert response.status_code == 400  # union is required for federation staff
    token = _token(_upload(client, _xlsx(_good(2)), union=tree["b"].pk))
    _confirm(client, token)
    assert set(Enrollment.objects.values_list("union_id", flat=True)) == {tree["b"].id}


def test_a_token_of_another_session_or_a_forged_one_is_refused(
    login, operator_a, client, django_user_model, tree
):
    from tests.factories import UserFactory

    token = _token(_upload(login(operator_a), _xlsx(_good(1))))
    other = UserFactory(union=tree["a"])
    client.logout()
    client.force_login(other)
    for candidate in (token, "x" * 43, "..%2F..%2Fetc%2Fpasswd"):
        response = client.get(f"/staff/enrollment/import/{candidate}/")
        assert response.status_code in (302, 404)
        response = client.post(f"/staff/enrollment/import/{candidate}/confirm/", {"policy": "all"})
        assert response.status_code in (302, 404)
    assert not Enrollment.objects.exists()


def test_cancel_deletes_the_upload(login, operator_a, upload_dir):
    client = login(operator_a)
    token = _token(_upload(client, _xlsx(_good(1))))
    client.post(reverse("web:enrollment_import_cancel", args=[token]))
    assert not (upload_dir / token).exists()
    assert client.get(reverse("web:enrollment_import_preview", args=[token])).status_code == 302


def test_an_unreadable_file_is_reported_not_crashed(login, operator_a):
    client = login(operator_a)
    response = _upload(client, b"PK\x03\x04 this is not a workbook", name="坏文件.xlsx")
    if response.status_code == 302:
        response = client.get(response["Location"], follow=True)
    assert response.status_code in (200, 400)
    assert "无法读取" in response.content.decode()
    assert not Enrollment.objects.exists()


def test_a_wrong_file_type_is_refused_at_upload(login, operator_a):
    response = _upload(login(operator_a), b"hello", name="名单.pdf")
    assert response.status_code == 400
    assert "CSV" in response.content.decode()


def test_page_lists_an_import_run_from_the_command_line(login, operator_a, tree):
    # Given an import with no user (as `huzhu import-enrollment` records it) and one by a user
    from huzhu.enrollment.services import enrollment_import

    year = SchemeYearFactory(year=2026)
    today = year.start - dt.timedelta(days=30)
    enrollment_import(
        data=_xlsx(_good(2)),
        file_name="命令行.xlsx",
        union=tree["a"],
        scheme_year=year,
        today=today,
    )
    enrollment_import(
        data=_xlsx(_good(3)),
        file_name="页面.xlsx",
        union=tree["a"],
        scheme_year=year,
        acting_user=operator_a,
        today=today,
    )
    assert EnrollmentImport.objects.count() == 2
    # When the operator opens the import page, both are listed, the first as run by the platform
    response = login(operator_a).get(reverse("web:enrollment_import"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "命令行.xlsx" in page and "页面.xlsx" in page
    rows = re.findall(r"<tr><td>[^<]*</td><td>甲公司工会</td>.*?</tr>", page, re.S)
    assert any("命令行.xlsx" in r and "平台" in r for r in rows)
    assert any("页面.xlsx" in r and "op_a" in r for r in rows)


def test_template_downloads_with_text_columns_for_the_numbers(login, operator_a):
    response = login(operator_a).get(reverse("web:enrollment_import_template"))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book["参保名单"]
    assert [c.value for c in sheet[1]] == [
        "姓名",
        "身份证号",
        "手机号",
        "开户银行",
        "银行账号",
        "参保日期",
        "同意书",
    ]
    assert sheet.column_dimensions["B"].number_format == "@"  # ID numbers stay text
    assert "填写说明" in book.sheetnames
    page = login(operator_a).get(reverse("web:enrollment_import")).content.decode()
    assert reverse("web:enrollment_import_template") in page


def test_preview_problems_download_as_a_sheet_to_send_back(login, operator_a, upload_dir):
    client = login(operator_a)
    token = _token(_upload(client, _xlsx(_with_problems())))
    preview = client.get(reverse("web:enrollment_import_preview", args=[token])).content.decode()
    url = reverse("web:enrollment_import_problems", args=[token])
    assert url in preview
    response = client.get(url)
    assert response.status_code == 200
    rows = list(openpyxl.load_workbook(io.BytesIO(response.content)).active.values)
    assert rows[2] == ("行号", "姓名", "身份证号", "列", "问题")
    problems = [(r[0], r[3]) for r in rows[3:]]
    assert problems == [(6, "身份证号"), (7, "身份证号"), (8, "姓名"), (9, "手机号")]
    assert "校验位" in rows[3][4]
    assert not Enrollment.objects.exists()
