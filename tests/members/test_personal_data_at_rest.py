"""ID numbers and phones at rest: encrypted, found through their blind index, masked in
lists, revealed with an audit event; the key rotation command (docs/security.md)."""

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from huzhu.core.crypto import blind_index, decrypt_text
from huzhu.members.models import Member, id_number_q
from huzhu.members.selectors import member_search_condition
from huzhu.ops.keyrotation import rotate_keys
from tests.enrollment.helpers import id_number
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def _raw_row(member_pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Member._meta.db_table} WHERE id = %s", [member_pk])
        return " ".join(str(v) for v in cursor.fetchone())


def test_id_number_and_phone_are_not_stored_in_clear():
    number = id_number()
    member = MemberFactory(id_number=number, phone="13912345678")
    raw = _raw_row(member.pk)
    assert number not in raw and "13912345678" not in raw
    assert number[:6] + "********" + number[-4:] in raw  # the masked form lists show
    assert "139****5678" in raw
    fresh = Member.objects.get(pk=member.pk)
    assert (fresh.id_number, fresh.phone) == (number, "13912345678")
    assert decrypt_text(fresh.id_number_encrypted) == number


def test_lookups_go_through_the_blind_index():
    number = id_number()
    member = MemberFactory(id_number=number, phone="13912345678")
    MemberFactory()
    assert Member.objects.get(id_number=number) == member
    assert list(Member.objects.filter(id_number__in=[number, id_number()])) == [member]
    assert list(Member.objects.filter(id_number_q(number))) == [member]
    assert Member.objects.get(phone="13912345678") == member
    assert member.id_number_hash == blind_index("id_number", number)
    # Search boxes: a full number, a masked one, the first 6 / last 4, a full phone.
    for q in (number, member.id_number_masked, number[-4:], "13912345678"):
        assert member in Member.objects.filter(member_search_condition(q)), q
    with pytest.raises(TypeError):
        Member.objects.filter(id_number__startswith="3306")


def test_same_digits_as_id_and_phone_give_unrelated_indexes():
    assert blind_index("id_number", "13912345678") != blind_index("phone", "13912345678")


def test_rotation_rewrites_everything_under_the_new_key_and_is_idempotent(settings):
    numbers = [id_number() for _ in range(5)]
    members = [MemberFactory(id_number=n, phone=f"1391234567{i}") for i, n in enumerate(numbers)]
    members[0].bank_account = "6222021234567890123"
    members[0].save()
    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[old_key]):
        # During the rotation: old values are read and found (old index accepted).
        assert Member.objects.get(id_number=numbers[2]).phone == "13912345672"
        result = rotate_keys(batch_size=2)
        assert result.tables["members.Member"]["rewritten"] == 5
        assert result.unreadable == 0
        again = rotate_keys(batch_size=2)
        assert again.tables["members.Member"]["rewritten"] == 0
    # After it, the new key alone reads and finds everything.
    with override_settings(FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[]):
        for i, n in enumerate(numbers):
            m = Member.objects.get(id_number=n)
            assert m.phone == f"1391234567{i}"
            assert Member.objects.get(phone=m.phone) == m
        assert Member.objects.get(id_number=numbers[0]).bank_account == "6222021234567890123"
    # ...and the old key alone no longer does.
    with override_settings(FIELD_ENCRYPTION_KEY=old_key, FIELD_ENCRYPTION_OLD_KEYS=[]):
        assert not Member.objects.filter(id_number=numbers[0]).exists()


def test_rotate_keys_command_prints_a_summary(settings):
    MemberFactory()
    out = StringIO()
    call_command("rotate-keys", "--batch-size", "10", stdout=out)
    summary = json.loads(out.getvalue().strip().splitlines()[-1])
    assert summary["unreadable"] == 0
    assert summary["tables"]["members.Member"]["rows"] == 1
    assert summary["tables"]["members.Member"]["rewritten"] == 0  # nothing to rotate
