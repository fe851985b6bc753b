"""The data migration turns clear ID numbers and phones into ciphertext + index + mask."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from huzhu.core.crypto import blind_index, decrypt_text

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("members", "0007_smscode_send_error"), ("settlements", "0005_drop_record_member_index")]
AFTER = [
    ("members", "0010_member_drop_clear_values"),
    ("settlements", "0006_record_id_number_encrypted"),
]


def test_clear_values_are_encrypted_indexed_and_masked():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Union = old.get_model("organizations", "Union")
    Member = old.get_model("members", "Member")
    union = Union.objects.create(code="MIG", name="迁移工会", kind="base")
    member = Member.objects.create(
        id_number="33068319850615123X",
        name="张三",
        phone="13912345678",
        sex="male",
        birth_date="1985-06-15",
        union_id=union.pk,
    )
    Member.objects.create(
        id_number="330683198506151247",
        name="李四",
        sex="female",
        birth_date="1985-06-15",
        union_id=union.pk,
    )
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("members", "Member")
    m = new.objects.get(pk=member.pk)
    assert decrypt_text(m.id_number_encrypted) == "33068319850615123X"
    assert m.id_number_hash == blind_index("id_number", "33068319850615123X")
    assert m.id_number_masked == "330683********123X"
    assert decrypt_text(m.phone_encrypted) == "13912345678"
    assert m.phone_masked == "139****5678"
    other = new.objects.get(name="李四")
    assert (other.phone_encrypted, other.phone_hash, other.phone_masked) == ("", "", "")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {new._meta.db_table}")
        raw = str(cursor.fetchall())
    assert "33068319850615123X" not in raw and "13912345678" not in raw
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
