"""The one table reader refuses what would take a process down, before parsing it, and
says why; whatever slips past the checks is parsed in a child that may die alone."""

import os
import subprocess
import sys

import openpyxl
import pytest

from huzhu.core.tabular import Limits, TabularError, read_frame, read_table
from tests import hostile_files as hostile

ALIASES = {"姓名": "name", "身份证号": "id_number"}
REQUIRED = {"name", "id_number"}
ID = "330683197306063816"


def refused(data: bytes, name: str) -> TabularError:
    with pytest.raises(TabularError) as exc:
        read_table(data, name, aliases=ALIASES, required=REQUIRED)
    return exc.value


def test_one_cell_at_xfd1048576_is_refused_from_its_declared_dimension():
    # Today: calamine allocates the 16384 x 1048576 grid and the process aborts.
    error = refused(hostile.sparse_xlsx("XFD1048576"), "sparse.xlsx")
    assert error.code == "too_large"
    assert "XFD1048576" in error.message and "16384列" in error.message


def test_one_cell_at_zz200000_is_refused_by_the_cell_bound():
    error = refused(hostile.sparse_xlsx("ZZ200000"), "zz.xlsx")
    assert error.code == "too_large" and "200000行×702列" in error.message


def test_a_sheet_lying_about_its_dimension_kills_only_the_parsing_child():
    # The dimension says A1:B2; calamine still builds the grid up to XFD1048576.
    error = refused(hostile.sparse_xlsx("XFD1048576", declared="A1:B2"), "lie.xlsx")
    assert error.code == "too_large"
    assert "lie.xlsx" in error.message and "内存" in error.message
    # ... and this process is alive to say so: the next file reads as usual.
    sheet = read_table(
        f"姓名,身份证号\n张三,{ID}\n".encode(), "ok.csv", aliases=ALIASES, required=REQUIRED
    )
    assert sheet.rows == [(2, {"name": "张三", "id_number": ID})]


def test_a_zip_bomb_is_refused_without_inflating_it():
    error = refused(hostile.zip_bomb_xlsx(20 * hostile.MB), "bomb.xlsx")
    assert error.code == "too_large" and "压缩炸弹" in error.message


def test_a_line_of_commas_is_refused_by_the_line_length_bound():
    assert refused(hostile.commas_csv(), "commas.csv").code == "too_large"


def test_one_long_line_is_refused():
    error = refused(hostile.long_line_csv(), "long.csv")
    assert error.code == "too_large" and "一行超过" in error.message


def test_two_hundred_thousand_columns_are_refused(tmp_path):
    assert refused(hostile.wide_csv(200_000), "wide.csv").code == "too_large"
    # A header just over the column bound (short enough lines) is refused by its width.
    path = tmp_path / "wide.csv"
    path.write_bytes(hostile.wide_csv(1_200))
    with pytest.raises(TabularError) as exc:
        read_frame(path)
    assert exc.value.code == "too_large" and "1200列" in exc.value.message


def test_many_short_rows_beyond_the_cell_bound_are_counted_before_polars_reads_them(tmp_path):
    # Lines of commas under the settlement header: each line is a row of empty cells.
    path = tmp_path / "rows.csv"
    path.write_bytes(b"settlement_id,id_number,admit_date,discharge_date\n" + b",,,\n" * 5_000)
    with pytest.raises(TabularError) as exc:
        read_frame(path, limits=Limits(max_cells=10_000))
    assert exc.value.code == "too_large" and "5000行×4列" in exc.value.message
    assert read_frame(path, limits=Limits(max_cells=50_000)).frame.height == 5_000


def test_invalid_gbk_names_the_line():
    error = refused(hostile.invalid_gbk_csv(), "gbk.csv")
    assert error.code == "unreadable" and "第2行" in error.message


def test_a_renamed_pdf_is_called_what_it_is(tmp_path):
    assert "PDF文件" in refused(hostile.renamed_pdf(), "scan.xlsx").message
    path = tmp_path / "scan.csv"
    path.write_bytes(hostile.renamed_pdf())
    with pytest.raises(TabularError, match="PDF文件"):
        read_frame(path)


def test_an_empty_file_is_refused_by_both_readers(tmp_path):
    assert refused(b"", "empty.csv").code == "empty_file"
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(TabularError) as exc:
        read_frame(path)
    assert exc.value.code == "empty_file"


def test_data_under_blank_headers_is_refused_by_both_readers(tmp_path):
    # Two blank header cells: polars named them "" and "_duplicated_0", the settlement
    # import then stopped on a ShapeError and left its batch pending.
    data = hostile.duplicate_blank_headers_csv(["姓名", "身份证号"], ["张三", ID])
    error = refused(data, "blank.csv")
    assert error.code == "unnamed_column" and "第2行B列" in error.message
    path = tmp_path / "blank.csv"
    path.write_bytes(
        hostile.duplicate_blank_headers_csv(
            ["settlement_id", "id_number", "admit_date", "discharge_date"],
            ["S1", ID, "2026-01-02", "2026-01-03"],
        )
    )
    with pytest.raises(TabularError) as exc:
        read_frame(path)
    assert exc.value.code == "unnamed_column" and "第2行C列" in exc.value.message


def test_blank_header_cells_without_data_are_ignored(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_bytes(b"settlement_id,,id_number\nS1,,X\n")
    assert read_frame(path).frame.columns == ["settlement_id", "id_number"]


def test_a_settlement_file_with_a_title_row_is_read_like_an_enrollment_file(tmp_path):
    # One reader: title rows above the header are skipped for every import.
    lines = ["嵊州市医保结算数据（2026年1月）", "", "setl_id,certno,begndate,enddate", "S1,X,a,b"]
    csv_path = tmp_path / "title.csv"
    csv_path.write_text("\n".join(lines) + "\n", encoding="gbk")
    table = read_frame(csv_path, aliases={"setl_id": "setl_id", "certno": "certno"})
    assert table.frame.columns == ["setl_id", "certno", "begndate", "enddate"]
    assert table.frame.rows() == [("S1", "X", "a", "b")] and table.header_row == 3
    book = openpyxl.Workbook()
    for line in lines:
        book.active.append(line.split(",") if line else [])
    book.save(tmp_path / "title.xlsx")
    table = read_frame(tmp_path / "title.xlsx", aliases={"setl_id": "setl_id"})
    assert table.frame.rows() == [("S1", "X", "a", "b")] and table.header_row == 3


def test_messages_never_name_the_server_path(tmp_path):
    broken = tmp_path / "deep" / "secret"
    broken.mkdir(parents=True)
    (broken / "a.xlsx").write_bytes(hostile._xlsx(b"<worksheet><sheetData><row><c"))
    (broken / "b.csv").write_bytes(b"a,b\n1,2,3\n")
    for name in ("a.xlsx", "b.csv"):
        with pytest.raises(TabularError) as exc:
            read_frame(broken / name)
        assert str(tmp_path) not in exc.value.message and name in exc.value.message


def test_the_reader_imports_neither_django_nor_polars_until_a_frame_is_read():
    # `huzhu simulate` runs without the Django project; the parsing child stays small.
    code = "import sys, huzhu.core.tabular; print(sorted(m for m in ('django', 'polars') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_parsing_child_has_a_memory_limit(monkeypatch):
    # 200,000 rows do not fit in 60 MB: the child runs out, the caller gets the reason.
    from huzhu.core.tabular import isolation

    monkeypatch.setattr(isolation, "PARSE_MEMORY_BYTES", 60 * 1024 * 1024)
    error = refused(("姓名,身份证号\n" + f"张三,{ID}\n" * 200_000).encode(), "big.csv")
    assert error.code == "too_large" and "60 MB" in error.message
    assert os.getpid()  # still here
