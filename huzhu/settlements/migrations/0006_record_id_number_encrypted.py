"""Settlement records' ID numbers at rest: blind index, masked form, ciphertext (only for
records without a member); existing clear values converted in batches, then dropped."""

from django.db import migrations, models

BATCH = 5000


def convert(apps, schema_editor):
    from huzhu.core.crypto import blind_index_many, encrypt_text_many
    from huzhu.core.masking import mask_id_number

    Record = apps.get_model("settlements", "SettlementRecord")
    last = 0
    while True:
        rows = list(
            Record.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "id_number", "member_id")[:BATCH]
        )
        if not rows:
            return
        last = rows[-1][0]
        numbers = [r[1] or "" for r in rows]
        hashes = blind_index_many("id_number", numbers)
        unlinked = [r[1] or "" for r in rows if r[2] is None]
        tokens = iter(encrypt_text_many(unlinked))
        objs = [
            Record(
                pk=pk,
                id_number_hash=digest,
                id_number_masked=mask_id_number(number or ""),
                id_number_encrypted=next(tokens) if member_id is None else "",
            )
            for (pk, number, member_id), digest in zip(rows, hashes, strict=True)
        ]
        Record.objects.bulk_update(
            objs, ["id_number_hash", "id_number_masked", "id_number_encrypted"], batch_size=1000
        )


def convert_back(apps, schema_editor):
    from huzhu.core.crypto import decrypt_text

    Record = apps.get_model("settlements", "SettlementRecord")
    Member = apps.get_model("members", "Member")
    for r in Record.objects.order_by("pk").iterator(chunk_size=BATCH):
        token = r.id_number_encrypted
        if not token and r.member_id:
            token = Member.objects.get(pk=r.member_id).id_number_encrypted
        r.id_number = decrypt_text(token) if token else ""
        r.save(update_fields=["id_number"])


class Migration(migrations.Migration):
    dependencies = [
        ("settlements", "0005_drop_record_member_index"),
        ("members", "0010_member_drop_clear_values"),
    ]

    operations = [
        migrations.AddField(
            model_name="settlementrecord",
            name="id_number_hash",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="settlementrecord",
            name="id_number_masked",
            field=models.CharField(default="", max_length=18, verbose_name="身份证号"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="settlementrecord",
            name="id_number_encrypted",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.RunPython(convert, convert_back, elidable=False),
        migrations.RemoveField(model_name="settlementrecord", name="id_number"),
    ]
