"""PostgreSQL: reinstall the rollup triggers, whose functions now queue their contributions
inside `rollups_deferred()` (reports/rollup.py); the rollups themselves do not change."""

from django.db import migrations


def reinstall(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # SQLite's row triggers did not change
    from huzhu.reports.rollup import rollup_install

    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    rollup_install(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("reports", "0003_claim_rollups")]

    operations = [migrations.RunPython(reinstall, migrations.RunPython.noop)]
