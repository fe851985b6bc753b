"""Bulk writes and batch encryption used by the big imports."""

from datetime import UTC, date, datetime

import pytest
from cryptography.fernet import Fernet
from django.conf import settings
from django.db import connection

from huzhu.core.bulk import as_db_text, bulk_insert, bulk_update_rows
from huzhu.core.crypto import decrypt_text, encrypt_text_many
from huzhu.members.models import Member
from huzhu.members.personal import PERSONAL_COLUMNS, personal_values
from tests.enrollment.helpers import id_number
from tests.factories import MemberFactory, UnionFactory


@pytest.mark.parametrize("value", ["", "1", "6222021234567890123", "x" * 16, "长" * 40])
def test_batch_encryption_gives_fernet_tokens(value):
    (token,) = encrypt_text_many([value])
    assert decrypt_text(token) == value
    assert Fernet(settings.FIELD_ENCRYPTION_KEY.encode()).decrypt(token.encode()).decode() == value


def test_batch_encryption_uses_a_fresh_iv_each_time():
    a, b = encrypt_text_many(["6222021234567890123", "6222021234567890123"])
    assert a != b


@pytest.mark.django_db(transaction=True)
def test_bulk_insert_returns_ids_in_order_and_stores_dates():
    union = UnionFactory()
    existing = MemberFactory(union=union)
    now = datetime(2026, 1, 5, 8, 30, tzinfo=UTC)
    numbers = [id_number(), id_number(female=True)]
    ids = bulk_insert(
        Member,
        (*PERSONAL_COLUMNS, "name", "sex", "birth_date", "union", "created_at", "updated_at"),
        [
            (
                *personal_values([n], [""])[0],
                f"职工{i}",
                "male",
                date(1985, 6, 15),
                union.id,
                now,
                now,
            )
            for i, n in enumerate(numbers)
        ],
    )
    assert ids[0] > existing.pk and ids[1] == ids[0] + 1
    stored = {m.pk: m for m in Member.objects.filter(pk__in=ids)}
    assert [stored[pk].id_number for pk in ids] == numbers
    assert stored[ids[0]].birth_date == date(1985, 6, 15) and stored[ids[0]].created_at == now
    later = MemberFactory(union=union)  # the ORM continues after the reserved ids
    assert later.pk > ids[1]

    phone = personal_values([numbers[1]], ["13912345678"])[0][3:]
    bulk_update_rows(
        Member,
        ("phone_encrypted", "phone_hash", "phone_masked", "updated_at"),
        [(ids[1], (*phone, now))],
    )
    assert Member.objects.get(pk=ids[1]).phone == "13912345678"


@pytest.mark.django_db(transaction=True)
def test_bulk_insert_streams_an_iterator_of_announced_length():
    union = UnionFactory()
    now = as_db_text(datetime(2026, 1, 5, 8, 30, tzinfo=UTC))
    numbers = [id_number() for _ in range(3)]

    def rows():
        for n in numbers:
            yield (*personal_values([n], [""])[0], "职工", "male", "1985-06-15", union.id, now, now)

    fields = (*PERSONAL_COLUMNS, "name", "sex", "birth_date", "union", "created_at", "updated_at")
    ids = bulk_insert(Member, fields, rows(), count=3, dates_as_text=True)
    assert len(ids) == 3
    member = Member.objects.get(pk=ids[2])
    assert member.id_number == numbers[2] and member.birth_date == date(1985, 6, 15)
    assert member.created_at == datetime(2026, 1, 5, 8, 30, tzinfo=UTC)

    another = id_number()
    row = (
        *personal_values([another], [""])[0],
        "职工",
        "male",
        date(1985, 6, 15),
        union.id,
        now,
        now,
    )
    assert bulk_insert(Member, fields, [row], returning=False) == []
    assert Member.objects.filter(id_number=another).exists()
    with pytest.raises(ValueError):
        bulk_insert(Member, fields, iter([]), count=1, dates_as_text=True)


_on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL sequences"
)


@_on_postgresql
@pytest.mark.django_db
def test_sequence_values_are_consecutive_when_nobody_else_took_any():
    from huzhu.core.bulk import sequence_values

    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE huzhu_test_seq")
    first = sequence_values("huzhu_test_seq", 5)
    assert first == [1, 2, 3, 4, 5]
    assert sequence_values("huzhu_test_seq", 3) == [6, 7, 8]
    assert sequence_values("huzhu_test_seq", 0) == []


@_on_postgresql
@pytest.mark.django_db
def test_sequence_values_with_gaps_come_back_one_by_one():
    # A sequence that skips values stands for another writer taking values in between.
    from huzhu.core.bulk import sequence_values

    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE huzhu_test_gaps INCREMENT BY 3 START 10")
    assert sequence_values("huzhu_test_gaps", 4) == [10, 13, 16, 19]
