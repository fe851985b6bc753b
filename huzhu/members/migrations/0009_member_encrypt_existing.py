"""ID numbers and phones encrypted at rest (2 of 3): existing clear values encrypted, indexed
and masked with the current HUZHU_FIELD_KEY, in batches. Reversible (decrypts back)."""

from django.db import migrations

BATCH = 5000


def encrypt_existing(apps, schema_editor):
    from huzhu.core.crypto import blind_index_many, encrypt_text_many
    from huzhu.core.masking import mask_id_number, mask_phone

    Member = apps.get_model("members", "Member")
    last = 0
    while True:
        rows = list(
            Member.objects.filter(pk__gt=last)
            .order_by("pk")
            .values_list("pk", "id_number", "phone")[:BATCH]
        )
        if not rows:
            return
        last = rows[-1][0]
        ids = [r[1] or "" for r in rows]
        phones = [r[2] or "" for r in rows]
        id_tokens = iter(encrypt_text_many([v for v in ids if v]))
        phone_tokens = iter(encrypt_text_many([v for v in phones if v]))
        id_hashes = blind_index_many("id_number", ids)
        phone_hashes = blind_index_many("phone", phones)
        objs = []
        for (pk, idn, phone), id_hash, phone_hash in zip(
            rows, id_hashes, phone_hashes, strict=True
        ):
            objs.append(
                Member(
                    pk=pk,
                    id_number_encrypted=next(id_tokens) if idn else "",
                    id_number_hash=id_hash if idn else "",
                    id_number_masked=mask_id_number(idn or ""),
                    phone_encrypted=next(phone_tokens) if phone else "",
                    phone_hash=phone_hash if phone else "",
                    phone_masked=mask_phone(phone) if phone else "",
                )
            )
        Member.objects.bulk_update(
            objs,
            [
                "id_number_encrypted",
                "id_number_hash",
                "id_number_masked",
                "phone_encrypted",
                "phone_hash",
                "phone_masked",
            ],
            batch_size=1000,
        )


def decrypt_back(apps, schema_editor):
    from huzhu.core.crypto import decrypt_text

    Member = apps.get_model("members", "Member")
    for m in Member.objects.order_by("pk").iterator(chunk_size=BATCH):
        m.id_number = decrypt_text(m.id_number_encrypted) if m.id_number_encrypted else ""
        m.phone = decrypt_text(m.phone_encrypted) if m.phone_encrypted else ""
        m.save(update_fields=["id_number", "phone"])


class Migration(migrations.Migration):
    dependencies = [("members", "0008_member_encrypted_fields")]

    operations = [migrations.RunPython(encrypt_existing, decrypt_back, elidable=False)]
