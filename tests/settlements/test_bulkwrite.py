"""frame_insert: what goes in comes back, whatever the slice (one row, constant columns with
quotes, percent signs, NUL on SQLite; constant columns are written as literals there)."""

import polars as pl
import pytest
from django.db import connection, transaction

from huzhu.settlements.bulkwrite import frame_insert, reserve_ids
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
