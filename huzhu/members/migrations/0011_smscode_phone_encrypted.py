"""SMS codes' phones encrypted at rest, with the phone's blind index (what the login looks
codes up by), as members' phones are; then the clear column is dropped. The rows live a few
minutes (pruned daily). Reversible: going back decrypts the phone into the clear column."""

from django.db import migrations, models

BATCH = 2000


def encrypt_existing(apps, schema_editor):
    from huzhu.core.crypto import blind_index_many, encrypt_text_many

    SmsCode = apps.get_model("members", "SmsCode")
    last = 0
    while True:
        rows = list(
            SmsCode.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "phone")[:BATCH]
        )
        if not rows:
            return
        last = rows[-1][0]
        given = [r for r in rows if r[1]]
        tokens = encrypt_text_many([p for _pk, p in given])
        hashes = blind_index_many("phone", [p for _pk, p in given])
        SmsCode.objects.bulk_update(
            [
                SmsCode(pk=pk, phone_encrypted=token, phone_hash=digest)
                for (pk, _phone), token, digest in zip(given, tokens, hashes, strict=True)
            ],
            ["phone_encrypted", "phone_hash"],
            batch_size=500,
        )


def decrypt_back(apps, schema_editor):
    from huzhu.core.crypto import decrypt_text

    SmsCode = apps.get_model("members", "SmsCode")
    for row in SmsCode.objects.exclude(phone_encrypted="").iterator(chunk_size=BATCH):
        row.phone = decrypt_text(row.phone_encrypted)
        row.save(update_fields=["phone"])


class Migration(migrations.Migration):
    dependencies = [("members", "0010_member_drop_clear_values")]

    operations = [
        migrations.AddField(
            model_name="smscode",
            name="phone_encrypted",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="smscode",
            name="phone_hash",
            field=models.CharField(blank=True, default="", max_length=32),
        ),
        migrations.RunPython(encrypt_existing, decrypt_back, elidable=False),
        migrations.RemoveIndex(model_name="smscode", name="members_sms_phone_c4c613_idx"),
        # A default first, so that going back can add the column to existing rows.
        migrations.AlterField(
            model_name="smscode",
            name="phone",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.RemoveField(model_name="smscode", name="phone"),
        migrations.AddIndex(
            model_name="smscode",
            index=models.Index(fields=["phone_hash", "created_at"], name="members_sms_phone_hash_at"),
        ),
    ]
