"""Settlement-record field mapping: our names and the national platform's."""

import polars as pl
import pytest

from huzhu.core.tabular import read_frame
from huzhu.plans.rules.records import (
    RecordsFormatError,
    column_plan,
    record_from_mapping,
    records_frame,
    records_from_rows,
)

from .conftest import DATA

SAMPLE = DATA / "sample-national-fields-gbk.csv"


def test_gbk_sample_is_read_and_its_encoding_reported():
    table = read_frame(SAMPLE)
    assert table.encoding == "gb18030"
    assert table.frame.height == 21
    assert table.frame["psn_name"][0] == "刘芳"


def test_utf8_bom_and_plain_utf8(tmp_path):
    text = SAMPLE.read_bytes().decode("gbk")
    (tmp_path / "bom.csv").write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
    (tmp_path / "plain.csv").write_text(text, encoding="utf-8")
    bom, plain = read_frame(tmp_path / "bom.csv"), read_frame(tmp_path / "plain.csv")
    assert (bom.encoding, plain.encoding) == ("utf-8-sig", "utf-8")
    assert bom.frame.columns[0] == "setl_id"
    assert bom.frame.equals(plain.frame)


def test_national_names_map_and_in_policy_self_pay_is_derived():
    table = read_frame(SAMPLE)
    plan = column_plan(table.frame.columns, need=["self_pay_in_policy"])
    assert plan.columns["settlement_id"] == "setl_id"
    assert plan.columns["visit_id"] == "mdtrt_id"
    records = records_from_rows(table.frame.iter_rows(named=True), plan)
    first = records[0]
    # inscp_scp_amt 39754.20 − fund_pay_sumamt 24572.43
    assert first.amount("self_pay_in_policy").fen == 1518177
    # fulamt_ownpay_amt 1607.65 + overlmt_selfpay 182.84
    assert first.amount("self_pay_out_policy").fen == 179049
    assert first.amount("total_cost").fen == 4154469


def test_refund_flag_cancels_the_record_of_the_same_visit_it_negates():
    table = read_frame(SAMPLE)
    plan = column_plan(table.frame.columns)
    records = records_from_rows(table.frame.iter_rows(named=True), plan)
    refund = records[-1]
    assert refund.is_reversal and refund.reverses == "S330683202600000003"
    frame = records_frame(table.frame, plan).collect()
    assert frame["reverses"][-1] == "S330683202600000003"
    assert frame["is_reversal"].to_list() == [r.is_reversal for r in records]


def test_refund_without_its_original_stays_unmatched():
    header = [
        "setl_id",
        "mdtrt_id",
        "certno",
        "begndate",
        "enddate",
        "medfee_sumamt",
        "refd_setl_flag",
    ]
    row = dict(
        zip(header, ["R1", "M9", "x", "2026-01-01", "2026-01-02", "-10.00", "1"], strict=True)
    )
    plan = column_plan(header)
    (record,) = records_from_rows([row], plan)
    assert record.is_reversal and record.reverses == ""
    frame = records_frame(pl.DataFrame([row]), plan).collect()
    assert frame["reverses"].to_list() == [""]


def test_single_push_record_maps_without_the_file():
    plan = column_plan(
        ["settlement_id", "id_number", "admit_date", "discharge_date", "self_pay_in_policy"]
    )
    record = record_from_mapping(
        {
            "settlement_id": " S1 ",
            "id_number": "x",
            "admit_date": "2026-01-01",
            "discharge_date": "2026-01-02",
            "self_pay_in_policy": "1.005",
        },
        plan,
    )
    assert record.settlement_id == "S1"
    assert record.amount("self_pay_in_policy").error == "too_many_decimals"


def test_missing_columns_are_named():
    with pytest.raises(RecordsFormatError) as exc:
        column_plan(["setl_id", "certno"], need=["self_pay_in_policy"])
    assert "admit_date" in exc.value.message and "inscp_scp_amt" in exc.value.message
