"""Claim numbers: "HZ<scheme year>-<serial>", e.g. HZ2026-000123.

The serial is one counter for all years (unique by itself, so a number is unique whatever
its year prefix); it is zero-padded to six digits and simply grows a digit past 999999.
Numbers may have gaps (a rolled-back transaction burns its numbers); they never repeat.

PostgreSQL: the sequence `claims_claim_number_seq` (created by migration 0002). `nextval` is
not transactional, so concurrent writers never wait for each other to number a claim.
SQLite: the `ClaimNumberCounter` row, updated inside the writer's transaction; SQLite runs one
writer at a time anyway (IMMEDIATE transactions, see settings), so this costs no concurrency.
"""

from django.db import connection, transaction
from django.db.models import F

from huzhu.core.bulk import sequence_values

from .models import ClaimNumberCounter

PG_SEQUENCE = "claims_claim_number_seq"
_COUNTER = "claim"


def format_claim_number(year: int, serial: int) -> str:
    return f"HZ{year}-{serial:06d}"


def _serials_postgres(count: int) -> list[int]:
    return sequence_values(PG_SEQUENCE, count)


def _serials_counter(count: int) -> list[int]:
    with transaction.atomic():
        updated = ClaimNumberCounter.objects.filter(name=_COUNTER).update(value=F("value") + count)
        if not updated:
            ClaimNumberCounter.objects.create(name=_COUNTER, value=count)
        last = ClaimNumberCounter.objects.values_list("value", flat=True).get(name=_COUNTER)
    return list(range(last - count + 1, last + 1))


def claim_numbers_allocate(*, year: int, count: int = 1) -> list[str]:
    """`count` fresh claim numbers for scheme year `year`, in increasing order.

    Bulk importers allocate all numbers of a batch with one call.
    """
    return [format_claim_number(year, s) for s in claim_serials_allocate(count)]


def claim_serials_allocate(count: int) -> list[int]:
    """`count` fresh serials, increasing; bulk writers format them (`format_claim_number`)."""
    if count < 1:
        return []
    return (
        _serials_postgres(count) if connection.vendor == "postgresql" else _serials_counter(count)
    )


def claim_number_next(*, year: int) -> str:
    return claim_numbers_allocate(year=year, count=1)[0]
