"""Member logins' phones encrypted at rest, as members' are (docs/security.md): the phone
becomes a Fernet token, its blind index and its masked form; a member login's user name
`m<phone>` becomes `m` + 16 random hex digits. Then the clear column is dropped.

Reversible: going back decrypts the phone into the clear column and gives a renamed member
login its `m<phone>` name again (when no other login holds that name). Needs the
HUZHU_FIELD_KEY the phones were encrypted with (or it in HUZHU_FIELD_OLD_KEYS)."""

import re
import secrets

from django.db import migrations, models

import huzhu.organizations.models

BATCH = 2000
PHONE_NAME = re.compile(r"^m1[0-9]{10}$")
RANDOM_NAME = re.compile(r"^m[0-9a-f]{16}$")


def _random_name(User) -> str:
    while True:
        name = f"m{secrets.token_hex(8)}"
        if not User.objects.filter(username=name).exists():
            return name


def encrypt_existing(apps, schema_editor):
    from huzhu.core.crypto import blind_index_many, encrypt_text_many
    from huzhu.core.masking import mask_phone

    User = apps.get_model("organizations", "User")
    last = 0
    while True:
        rows = list(
            User.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "phone", "username", "role")[:BATCH]
        )
        if not rows:
            return
        last = rows[-1][0]
        given = [r for r in rows if r[1]]
        tokens = encrypt_text_many([r[1] for r in given])
        hashes = blind_index_many("phone", [r[1] for r in given])
        objs = []
        for (pk, phone, username, role), token, digest in zip(given, tokens, hashes, strict=True):
            user = User(pk=pk, username=username)
            user.phone_encrypted, user.phone_hash, user.phone_masked = (
                token,
                digest,
                mask_phone(phone),
            )
            objs.append(user)
        for user, (_pk, _phone, username, role) in zip(objs, given, strict=True):
            if role == "member" and PHONE_NAME.match(username):
                user.username = _random_name(User)
        # Member logins without a phone but named after one (none expected) are renamed too.
        for pk, phone, username, role in rows:
            if not phone and role == "member" and PHONE_NAME.match(username):
                objs.append(User(pk=pk, username=_random_name(User)))
                objs[-1].phone_encrypted = objs[-1].phone_hash = objs[-1].phone_masked = ""
        User.objects.bulk_update(
            objs, ["username", "phone_encrypted", "phone_hash", "phone_masked"], batch_size=500
        )


def decrypt_back(apps, schema_editor):
    from huzhu.core.crypto import decrypt_text

    User = apps.get_model("organizations", "User")
    for user in User.objects.exclude(phone_encrypted="").order_by("pk").iterator(chunk_size=BATCH):
        user.phone = decrypt_text(user.phone_encrypted)
        fields = ["phone"]
        wanted = f"m{user.phone}"
        if (
            user.role == "member"
            and RANDOM_NAME.match(user.username)
            and not User.objects.filter(username=wanted).exists()
        ):
            user.username = wanted
            fields.append("username")
        user.save(update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [("organizations", "0002_auditor_role")]

    operations = [
        migrations.AlterModelManagers(
            name="user",
            managers=[("objects", huzhu.organizations.models.LoginManager())],
        ),
        migrations.AddField(
            model_name="user",
            name="phone_encrypted",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="user",
            name="phone_hash",
            field=models.CharField(blank=True, db_index=True, default="", max_length=32),
        ),
        migrations.AddField(
            model_name="user",
            name="phone_masked",
            field=models.CharField(blank=True, default="", max_length=20, verbose_name="手机号"),
        ),
        migrations.RunPython(encrypt_existing, decrypt_back, elidable=False),
        migrations.RemoveField(model_name="user", name="phone"),
    ]
