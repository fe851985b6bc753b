"""Claim.breakdown as `json` instead of `jsonb` on PostgreSQL (see BreakdownField).

New databases get `json` from 0004 already (BreakdownField's column type); this moves the
databases migrated before. Nothing to do on SQLite (JSON is text there)."""

from django.db import migrations

TABLE = "claims_claim"


def _set_type(schema_editor, new_type: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT data_type FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s AND column_name = 'breakdown'",
            [TABLE],
        )
        row = cursor.fetchone()
    if row and row[0] != new_type:
        schema_editor.execute(
            f'ALTER TABLE "{TABLE}" ALTER COLUMN "breakdown" TYPE {new_type} '
            f'USING "breakdown"::{new_type}'
        )


def forwards(apps, schema_editor):
    _set_type(schema_editor, "json")


def backwards(apps, schema_editor):
    _set_type(schema_editor, "jsonb")


class Migration(migrations.Migration):
    dependencies = [("claims", "0007_notification_attempts")]

    operations = [migrations.RunPython(forwards, backwards)]
