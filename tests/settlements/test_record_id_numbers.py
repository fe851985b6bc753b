"""What a settlement record keeps of its ID number: blind index and masked form, ciphertext
only without a linked member; never the clear number."""

import pytest
from django.db import connection

from huzhu.core.crypto import blind_index, decrypt_text
from huzhu.settlements.models import SettlementRecord
from huzhu.settlements.services import settlement_import_file
from tests.factories import make_id_number
from tests.settlements.conftest import row

pytestmark = pytest.mark.django_db


def test_records_are_matched_by_index_and_keep_no_clear_number(plans, enroll, write_csv):
    member = enroll(name="甲")
    stranger = make_id_number()
    result = settlement_import_file(
        path=write_csv([row("M1", member, base="3000.00"), row("N1", stranger)])
    )
    assert result.summary["covered"] == 1 and result.summary["not_enrolled"] == 1
    matched = SettlementRecord.objects.get(settlement_id="M1")
    assert matched.member_id == member.pk
    assert matched.id_number_hash == member.id_number_hash
    assert matched.id_number_encrypted == ""  # the member holds the number
    assert matched.id_number_masked == member.id_number_masked
    unmatched = SettlementRecord.objects.get(settlement_id="N1")
    assert unmatched.member_id is None
    assert unmatched.id_number_hash == blind_index("id_number", stranger)
    assert decrypt_text(unmatched.id_number_encrypted) == stranger
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {SettlementRecord._meta.db_table}")
        raw = str(cursor.fetchall())
    assert member.id_number not in raw and stranger not in raw


def test_rotation_re_indexes_records_and_imports_still_match(plans, enroll, write_csv, settings):
    from cryptography.fernet import Fernet
    from django.test import override_settings

    from huzhu.ops.keyrotation import rotate_keys

    member = enroll(name="甲")
    stranger = make_id_number()
    settlement_import_file(path=write_csv([row("M1", member), row("N1", stranger)]))
    old, new = settings.FIELD_ENCRYPTION_KEY, Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEY=new, FIELD_ENCRYPTION_OLD_KEYS=[old]):
        # Mid-rotation (nothing rewritten yet): an import still matches the member.
        result = settlement_import_file(
            path=write_csv([row("M2", member, admit="2026-06-01", discharge="2026-06-05")])
        )
        assert result.summary["covered"] == 1
        summary = rotate_keys(batch_size=1).summary()
        assert summary["unreadable"] == 0
        # M1 and N1; M2 was written under the new key already.
        assert summary["tables"]["settlements.SettlementRecord"]["rewritten"] == 2
        assert rotate_keys().tables["settlements.SettlementRecord"]["rewritten"] == 0
    with override_settings(FIELD_ENCRYPTION_KEY=new, FIELD_ENCRYPTION_OLD_KEYS=[]):
        index = blind_index("id_number", member.id_number)
        assert set(
            SettlementRecord.objects.filter(settlement_id__in=["M1", "M2"]).values_list(
                "id_number_hash", flat=True
            )
        ) == {index}
        unmatched = SettlementRecord.objects.get(settlement_id="N1")
        assert decrypt_text(unmatched.id_number_encrypted) == stranger
        result = settlement_import_file(
            path=write_csv([row("M3", member, admit="2026-07-01", discharge="2026-07-05")])
        )
        assert result.summary["covered"] == 1
