"""union_import / `huzhu import-unions`: the tree from a sheet, checked whole, idempotent."""

import io
import json

import openpyxl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huzhu.core.tabular import TabularError
from huzhu.organizations.models import Union, UnionKind
from huzhu.organizations.services import union_import
from tests.factories import UnionFactory

pytestmark = pytest.mark.django_db

HEADER = ["代码", "名称", "类型", "上级代码", "联系人", "电话"]
TREE = [
    ["SZ000", "嵊州市总工会", "总工会", None, "办公室", "0575-83112057"],
    ["SZI01", "嵊州市教育工会", "产业工会", "SZ000", None, None],
    ["SZT01", "剡湖街道总工会", "乡镇（街道）工会", "SZ000", "王主席", 57583000001],
    ["SZW001", "嵊州市第一中学工会", "基层工会", "SZI01", "李老师", "13812345678"],
    ["SZW002", "浙江巴贝领带有限公司工会", "workplace", "SZT01", None, None],
]


def sheet(rows, header=HEADER, title=None) -> bytes:
    book = openpyxl.Workbook()
    ws = book.active
    if title:
        ws.append([title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append(header)
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def codes(result):
    return [(p.row, p.column, p.code) for p in result.problems]


def test_tree_is_created_parents_after_children_in_any_order():
    rows = list(reversed(TREE))  # children first: parents are resolved within the file
    result = union_import(data=sheet(rows, title="工会组织名单"), file_name="tree.xlsx")
    assert result.problems == []
    assert result.summary == {"rows": 5, "created": 5, "updated": 0, "unchanged": 0, "errors": 0}
    school = Union.objects.get(code="SZW001")
    assert school.parent.code == "SZI01" and school.kind == UnionKind.WORKPLACE
    assert Union.objects.get(code="SZT01").kind == UnionKind.TOWNSHIP
    assert Union.objects.get(code="SZT01").phone == "57583000001"
    assert Union.objects.get(code="SZ000").parent is None


def test_same_file_again_changes_nothing_then_an_edit_updates_one():
    data = sheet(TREE)
    union_import(data=data, file_name="tree.xlsx")
    stamps = dict(Union.objects.values_list("code", "updated_at"))
    again = union_import(data=data, file_name="tree.xlsx")
    assert again.summary == {"rows": 5, "created": 0, "updated": 0, "unchanged": 5, "errors": 0}
    assert dict(Union.objects.values_list("code", "updated_at")) == stamps

    edited = [row[:] for row in TREE]
    edited[4][3] = "SZI01"  # the tie factory's union moves under the education union
    result = union_import(data=sheet(edited), file_name="tree.xlsx")
    assert result.summary["updated"] == 1 and result.summary["unchanged"] == 4
    assert Union.objects.get(code="SZW002").parent.code == "SZI01"


def test_parent_may_already_be_in_the_database():
    UnionFactory(code="SZ000", name="嵊州市总工会", kind=UnionKind.FEDERATION)
    result = union_import(
        data=sheet([["SZI09", "嵊州市建设工会", "industry", "SZ000", None, None]]),
        file_name="t.xlsx",
    )
    assert result.summary["created"] == 1
    assert Union.objects.get(code="SZI09").parent.code == "SZ000"


def test_each_problem_names_row_and_column():
    rows = [
        *TREE,
        ["SZW003", "无上级工会", "基层工会", "NOPE", None, None],
        ["SZW001", "重复代码", "基层工会", "SZI01", None, None],
        ["SZW004", "类型不明", "协会", "SZI01", None, None],
        ["SZW005", "没有上级", "基层工会", None, None, None],
        ["SZ999", "第二个总工会", "federation", None, None, None],
        [None, "没有代码", "基层工会", "SZI01", None, None],
        ["SZW006", "电话有误", "基层工会", "SZI01", None, "电话号码"],
    ]
    result = union_import(data=sheet(rows), file_name="t.xlsx")
    assert codes(result) == [
        (7, "上级代码", "unknown_parent"),
        (8, "代码", "duplicate_in_file"),
        (9, "类型", "bad_kind"),
        (10, "上级代码", "missing_parent"),
        (11, "类型", "second_federation"),
        (12, "代码", "missing_code"),
        (13, "电话", "bad_phone"),
    ]
    assert not result.written and result.summary["created"] == 0
    assert Union.objects.count() == 0


def test_cycles_are_refused():
    union_import(data=sheet(TREE), file_name="t.xlsx")
    # SZI01 would move under its own child SZW001.
    rows = [["SZI01", "嵊州市教育工会", "产业工会", "SZW001", None, None]]
    result = union_import(data=sheet(rows), file_name="t.xlsx")
    assert codes(result) == [(2, "上级代码", "cycle")]
    assert Union.objects.get(code="SZI01").parent.code == "SZ000"


def test_valid_only_skips_bad_rows_and_their_children():
    rows = [
        *TREE,
        ["SZT09", "坏的乡镇工会", "镇", "SZ000", None, None],
        ["SZW009", "坏乡镇下的基层工会", "基层工会", "SZT09", None, None],
    ]
    result = union_import(data=sheet(rows), file_name="t.xlsx", valid_only=True)
    assert codes(result) == [(7, "类型", "bad_kind"), (8, "上级代码", "parent_invalid")]
    assert result.written and result.summary["created"] == 5 and result.summary["errors"] == 2
    assert not Union.objects.filter(code__in=["SZT09", "SZW009"]).exists()


def test_missing_columns_is_unreadable():
    with pytest.raises(TabularError) as exc:
        union_import(data=sheet([["A", "B"]], header=["代码", "名称"]), file_name="t.xlsx")
    assert "类型" in exc.value.message and "上级代码" in exc.value.message


def test_english_headers_csv():
    data = "code,name,kind,parent_code\r\nF,Federation,federation,\r\nW,Workplace,workplace,F\r\n"
    result = union_import(data=data.encode(), file_name="t.csv")
    assert result.summary["created"] == 2 and result.encoding == "utf-8"


def _command(*args):
    out = io.StringIO()
    try:
        call_command("import-unions", *args, stdout=out, stderr=io.StringIO())
        code = 0
    except SystemExit as exc:
        code = exc.code
    except CommandError as exc:
        code = exc.returncode
    return code, out.getvalue().strip().splitlines()


def test_command_exit_codes_and_summary_line(tmp_path):
    good = tmp_path / "tree.xlsx"
    good.write_bytes(sheet(TREE))
    code, lines = _command(str(good))
    assert code == 0
    assert json.loads(lines[-1]) == {
        "rows": 5,
        "created": 5,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
    }

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(sheet([["SZW777", "孤儿工会", "基层工会", "NOPE", None, None]]))
    code, lines = _command(str(bad))
    assert code == 1
    assert lines[0] == "第2行 上级代码: 上级代码 NOPE 在文件和系统中都不存在"
    assert json.loads(lines[-1])["errors"] == 1

    code, _ = _command(str(tmp_path / "nothing-here.xlsx"))
    assert code == 2
