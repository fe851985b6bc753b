"""Member logins and SMS codes keep the phone encrypted, found through its blind index; the
user name holds no phone; the key rotation covers them; the data migration converts old rows
(docs/security.md)."""

import re

import pytest
from cryptography.fernet import Fernet
from django.core import signing
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import override_settings

from huzhu.api.member import TOKEN_SALT, member_token_issue, member_token_user
from huzhu.core.crypto import blind_index, decrypt_text
from huzhu.members.accounts import member_bind, member_user_for_phone
from huzhu.members.models import SmsCode
from huzhu.members.sms import MemorySmsBackend, sms_code_request, sms_code_verify
from huzhu.ops.keyrotation import rotate_keys
from huzhu.organizations.models import Role, User
from tests.factories import MemberFactory

PHONE = "13912345678"


def _raw_rows(table: str, where: str = "", params=()) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {table} {where}", list(params))
        return " ".join(str(v) for row in cursor.fetchall() for v in row)


@pytest.fixture
def sms(settings):
    settings.HUZHU_SMS_BACKEND = "huzhu.members.sms.MemorySmsBackend"
    MemorySmsBackend.outbox.clear()


@pytest.mark.django_db
def test_login_and_sms_code_store_no_clear_phone(sms):
    member = MemberFactory(name="张三")
    # Given a member who logs in by SMS code and binds their phone
    sms_code_request(phone=PHONE, client="203.0.113.5")
    assert (
        sms_code_verify(phone=PHONE, code=MemorySmsBackend.last_code(PHONE), client="203.0.113.5")
        == PHONE
    )
    user = member_bind(phone=PHONE, name="张三", id_number=member.id_number, client="203.0.113.5")
    # Then neither the login's row nor the code's row holds the phone, nor its last 8 digits
    login_row = _raw_rows(User._meta.db_table, "WHERE id = %s", [user.pk])
    code_rows = _raw_rows(SmsCode._meta.db_table)
    for raw in (login_row, code_rows):
        assert PHONE not in raw and PHONE[3:] not in raw
    assert "139****5678" in login_row  # the masked form
    assert re.fullmatch(r"m[0-9a-f]{16}", user.username)
    # ...and both are found through the index, and read back in clear
    fresh = User.objects.get(pk=user.pk)
    assert fresh.phone == PHONE and fresh.phone_hash == blind_index("phone", PHONE)
    assert decrypt_text(fresh.phone_encrypted) == PHONE
    assert member_user_for_phone(PHONE) == user
    assert User.objects.get(phone=PHONE) == user
    assert SmsCode.objects.filter(phone=PHONE).count() == 1
    assert SmsCode.objects.get().phone == PHONE
    with pytest.raises(TypeError):
        User.objects.filter(phone__startswith="139")


@pytest.mark.django_db
def test_a_former_login_of_the_phone_is_reused_when_binding_again():
    member = MemberFactory(name="张三")
    user = member_bind(phone=PHONE, name="张三", id_number=member.id_number, client="local")
    # The union unbinds the member (e.g. a phone change); they bind again from the same phone
    member.user = None
    member.save(update_fields=["user"])
    user.is_active = False
    user.save(update_fields=["is_active"])
    again = member_bind(phone=PHONE, name="张三", id_number=member.id_number, client="local")
    assert again.pk == user.pk and again.is_active
    assert User.objects.filter(role=Role.MEMBER).count() == 1


@pytest.mark.django_db
def test_api_token_carries_no_phone_and_a_rotation_ends_it(settings):
    member = MemberFactory(name="张三")
    user = member_bind(phone=PHONE, name="张三", id_number=member.id_number, client="local")
    token = member_token_issue(user)
    # A signed token is readable by whoever holds it: its content has no phone
    assert PHONE not in str(signing.loads(token, salt=TOKEN_SALT))
    assert member_token_user(token) == user
    new_key = Fernet.generate_key().decode()
    with override_settings(
        FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[settings.FIELD_ENCRYPTION_KEY]
    ):
        rotate_keys()
        assert member_token_user(token) is None  # the member logs in again


@pytest.mark.django_db
def test_rotation_covers_logins_and_sms_codes(settings, sms):
    member = MemberFactory(name="张三")
    user = member_bind(phone=PHONE, name="张三", id_number=member.id_number, client="local")
    sms_code_request(phone=PHONE, client="203.0.113.5")
    old_key = settings.FIELD_ENCRYPTION_KEY
    new_key = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[old_key]):
        assert member_user_for_phone(PHONE) == user  # the old index is still accepted
        result = rotate_keys(batch_size=1)
        assert result.tables["organizations.User"]["rewritten"] == 1
        assert result.tables["members.SmsCode"]["rewritten"] == 1
        assert result.unreadable == 0
    with override_settings(FIELD_ENCRYPTION_KEY=new_key, FIELD_ENCRYPTION_OLD_KEYS=[]):
        assert member_user_for_phone(PHONE) == user
        assert User.objects.get(pk=user.pk).phone == PHONE
        # the SMS login goes on with the code sent before the rotation
        code = MemorySmsBackend.last_code(PHONE)
        assert sms_code_verify(phone=PHONE, code=code, client="203.0.113.5") == PHONE


@pytest.mark.django_db(transaction=True)
def test_migration_encrypts_login_and_code_phones_and_renames_logins():
    before = [("organizations", "0002_auditor_role"), ("members", "0010_member_drop_clear_values")]
    after = [
        ("organizations", "0003_user_phone_encrypted"),
        ("members", "0011_smscode_phone_encrypted"),
    ]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldUser = old.get_model("organizations", "User")
    OldCode = old.get_model("members", "SmsCode")
    login = OldUser.objects.create(username=f"m{PHONE}", role="member", phone=PHONE)
    wx = OldUser.objects.create(username="wx7", role="member", phone="13700001111")
    staff = OldUser.objects.create(username="operator1", role="union_operator")
    OldCode.objects.create(
        phone=PHONE, code_hash="h", created_at="2026-12-01T00:00Z", expires_at="2026-12-01T00:05Z"
    )
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(after)
        new = executor.loader.project_state(after).apps
        NewUser = new.get_model("organizations", "User")
        NewCode = new.get_model("members", "SmsCode")
        raw = _raw_rows(NewUser._meta.db_table) + _raw_rows(NewCode._meta.db_table)
        assert PHONE not in raw and "13700001111" not in raw
        renamed = NewUser.objects.get(pk=login.pk)
        assert re.fullmatch(r"m[0-9a-f]{16}", renamed.username)
        assert decrypt_text(renamed.phone_encrypted) == PHONE
        assert renamed.phone_hash == blind_index("phone", PHONE)
        assert renamed.phone_masked == "139****5678"
        assert NewUser.objects.get(pk=wx.pk).username == "wx7"
        assert NewUser.objects.get(pk=staff.pk).phone_hash == ""
        assert NewCode.objects.get().phone_hash == blind_index("phone", PHONE)
        # Reversible: back to the clear column and the old user name
        executor = MigrationExecutor(connection)
        executor.migrate(before)
        back = executor.loader.project_state(before).apps.get_model("organizations", "User")
        assert (back.objects.get(pk=login.pk).username, back.objects.get(pk=login.pk).phone) == (
            f"m{PHONE}",
            PHONE,
        )
        code = executor.loader.project_state(before).apps.get_model("members", "SmsCode")
        assert code.objects.get().phone == PHONE
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
