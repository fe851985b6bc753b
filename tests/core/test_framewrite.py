"""frame_insert: what goes in comes back, whatever the slice (one row, constant columns with
quotes, percent signs, NUL on SQLite; constant columns are written as literals there)."""

import polars as pl
import pytest
from django.db import connection, transaction

from huzhu.core.framewrite import frame_insert, reserve_ids
from huzhu.settlements.models import SettlementBatch, SettlementRowProblem


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rows", [1, 3])
def test_frame_insert_round_trips_constant_and_odd_text(rows):
    batch = SettlementBatch.objects.create(file_name="t.csv", checksum="x")
    # PostgreSQL text cannot hold NUL at all; SQLite can (and then binds it, no literal).
    odd = "nul\x00inside" if connection.vendor == "sqlite" else "tab\tand\nnewline"
    reasons = ["50%s 'quoted' 100%", odd]
    with transaction.atomic():
        ids = reserve_ids(SettlementRowProblem, 2 * rows)
        frame = pl.DataFrame(
            {
                "id": ids,
                "batch_id": [batch.pk] * (2 * rows),
                "row_number": [7] * rows + list(range(rows)),
                "settlement_id": ["S'1"] * (2 * rows),
                "field": [""] * (2 * rows),
                "code": ["c"] * (2 * rows),
                "reason": [reasons[0]] * rows + [reasons[1]] * rows,
            }
        )
        for part in (frame.head(rows), frame.tail(rows)):  # each part: constant reason
            frame_insert(SettlementRowProblem, part)
    got = list(
        SettlementRowProblem.objects.order_by("id").values_list("id", "settlement_id", "reason")
    )
    assert got == [(i, "S'1", reasons[k // rows]) for k, i in enumerate(ids)]


@pytest.mark.django_db
def test_frame_insert_round_trips_every_column_type():
    """jsonb, bigint, smallint, foreign keys, timestamps from db_datetime text and NULL ones:
    what goes in (binary COPY on PostgreSQL, INSERT on SQLite) comes back the same."""
    from datetime import datetime, timedelta, timezone

    from huzhu.claims.models import MemberYearLedger, Notification
    from huzhu.core.framewrite import db_datetime
    from tests.factories import MemberFactory, SchemeYearFactory

    member = MemberFactory()
    year = SchemeYearFactory()
    at = datetime(2026, 5, 1, 8, 30, 15, 123456, tzinfo=timezone(timedelta(hours=8)))
    with transaction.atomic():
        frame_insert(
            MemberYearLedger,
            pl.DataFrame(
                {
                    "member_id": [member.pk],
                    "scheme_year_id": [year.pk],
                    "deductible_used_fen": [50_000],
                    "cumulative_excess_fen": [2**40],
                    "paid_toward_cap_fen": [0],
                    "lump_sums": ['{"critical_illness": "HZ2026-000001", "说明": "是"}'],
                    "version": [3],
                    "updated_at": [db_datetime(at)],
                }
            ),
        )
        frame_insert(
            Notification,
            pl.DataFrame(
                {
                    "member_id": [member.pk, member.pk],
                    "claim_id": [None, None],
                    "kind": ["claims_auto", "claim_approved"],
                    "text": ["您的住院已自动受理；\n金额6,450.00元", ""],
                    "channels": ["", ""],
                    "error": ["", ""],
                    "attempts": [2, 0],
                    "created_at": [db_datetime(at)] * 2,
                    "sent_at": [None, db_datetime(at + timedelta(seconds=1))],
                    "read_at": [None, None],
                }
            ),
        )
    ledger = MemberYearLedger.objects.get()
    assert ledger.lump_sums == {"critical_illness": "HZ2026-000001", "说明": "是"}
    assert (ledger.deductible_used_fen, ledger.cumulative_excess_fen, ledger.version) == (
        50_000,
        2**40,
        3,
    )
    assert ledger.updated_at == at
    notes = list(Notification.objects.order_by("id"))
    assert [(n.kind, n.text, n.attempts, n.claim_id) for n in notes] == [
        ("claims_auto", "您的住院已自动受理；\n金额6,450.00元", 2, None),
        ("claim_approved", "", 0, None),
    ]
    assert [n.created_at for n in notes] == [at, at]
    assert [n.sent_at for n in notes] == [None, at + timedelta(seconds=1)]


@pytest.mark.django_db
@pytest.mark.postgres
def test_binary_copy_refuses_a_value_too_big_for_its_column():
    """An int4 column gets 4-byte values: a value beyond its range fails the import instead
    of being cut down (binary COPY does no conversion of its own)."""
    batch = SettlementBatch.objects.create(file_name="t.csv", checksum="x")
    frame = pl.DataFrame(
        {
            "batch_id": [batch.pk],
            "row_number": [2**31],  # row_number is an integer column
            "settlement_id": ["S1"],
            "field": [""],
            "code": ["c"],
            "reason": ["r"],
        }
    )
    with pytest.raises(pl.exceptions.InvalidOperationError), transaction.atomic():
        frame_insert(SettlementRowProblem, frame)
    assert not SettlementRowProblem.objects.exists()


def test_binary_cast_falls_back_to_csv_for_types_without_a_binary_form_here():
    from huzhu.core.framewrite import _binary_cast

    assert _binary_cast("x", "numeric(12, 2)", pl.String) is None
    assert _binary_cast("x", "uuid", pl.String) is None
    assert _binary_cast("x", "timestamp with time zone", pl.Datetime("us")) is None  # naive
    assert _binary_cast("x", "varchar(24)", pl.String) is not None


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_table_without_binary_form_is_copied_as_csv(monkeypatch):
    """The CSV COPY a table falls back to when one of its column types has no binary form
    here (no table of ours has one today): same rows, odd text included."""
    from huzhu.core import framewrite as bulkwrite

    monkeypatch.setattr(bulkwrite, "_binary_columns", lambda *args: None)
    batch = SettlementBatch.objects.create(file_name="t.csv", checksum="x")
    reasons = ['comma, "quote"', "tab\tand\nnewline", ""]
    with transaction.atomic():
        frame_insert(
            SettlementRowProblem,
            pl.DataFrame(
                {
                    "batch_id": [batch.pk] * 3,
                    "row_number": [1, 2, 3],
                    "settlement_id": ["S1", "S2", "S3"],
                    "field": ["total_cost"] * 3,
                    "code": ["c"] * 3,
                    "reason": reasons,
                }
            ),
        )
    got = SettlementRowProblem.objects.order_by("row_number").values_list("reason", flat=True)
    assert list(got) == reasons


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="the staging table is SQLite's")
def test_a_table_with_triggers_is_filled_through_a_staging_table(monkeypatch):
    """SQLite: rows for a table with triggers go through a temporary staging table (one
    statement per slice, not one per row); the triggers still see every row, every slice,
    and a slice that breaks a constraint writes nothing of itself."""
    from django.db import IntegrityError

    import huzhu.core.framewrite as framewrite

    monkeypatch.setattr(framewrite, "SQLITE_CHUNK_ROWS", 2)
    batch = SettlementBatch.objects.create(file_name="t.csv", checksum="x")
    table = SettlementRowProblem._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE seen (reason TEXT)")
        cursor.execute(
            f"CREATE TEMP TRIGGER seen_insert AFTER INSERT ON {table} "
            "BEGIN INSERT INTO seen VALUES (NEW.reason); END"
        )

    def frame(ids):
        return pl.DataFrame(
            {
                "id": ids,
                "batch_id": [batch.pk] * len(ids),
                "row_number": list(range(len(ids))),
                "settlement_id": ["S"] * len(ids),
                "field": [""] * len(ids),
                "code": ["c"] * len(ids),
                "reason": [f"r{i}" for i in ids],
            }
        )

    with transaction.atomic():
        ids = reserve_ids(SettlementRowProblem, 5)
        assert frame_insert(SettlementRowProblem, frame(ids)) == 5
    with connection.cursor() as cursor:
        cursor.execute("SELECT reason FROM seen ORDER BY reason")
        assert [r for (r,) in cursor.fetchall()] == sorted(f"r{i}" for i in ids)
        cursor.execute("SELECT name FROM sqlite_temp_master WHERE name LIKE 'huzhu_stage_%'")
        assert cursor.fetchall() == [(f"huzhu_stage_{table}",)]  # the way the rows went
    assert list(SettlementRowProblem.objects.order_by("id").values_list("id", flat=True)) == ids

    with pytest.raises(IntegrityError), transaction.atomic():
        frame_insert(SettlementRowProblem, frame([10**9, ids[0]]))  # the second id is taken
    assert SettlementRowProblem.objects.count() == 5
    with transaction.atomic():  # the staging table left by the failure is no obstacle
        assert frame_insert(SettlementRowProblem, frame([10**9])) == 1
    assert SettlementRowProblem.objects.count() == 6
