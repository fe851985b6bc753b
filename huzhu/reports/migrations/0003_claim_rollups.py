"""The claim rollups (reports/models.py) and the triggers on claims_claim that keep them
(reports/rollup.py), filled from the claims already there."""

from django.db import migrations, models


def install(apps, schema_editor):
    from huzhu.reports.rollup import rollup_rebuild

    rollup_rebuild(schema_editor.connection)


def uninstall(apps, schema_editor):
    from huzhu.reports.rollup import rollup_uninstall

    rollup_uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0002_drop_status_year_amount"),
        ("claims", "0015_payment_failed_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClaimDays",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scheme_year_id", models.IntegerField()),
                ("union_id", models.IntegerField()),
                ("channel", models.CharField(max_length=8)),
                ("kind", models.CharField(max_length=1)),
                ("days", models.IntegerField()),
                ("slot", models.SmallIntegerField(default=0)),
                ("claims", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scheme_year_id", "union_id", "channel", "kind", "days", "slot"),
                        name="claim_days_key",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ClaimFacts",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scheme_year_id", models.IntegerField()),
                ("union_id", models.IntegerField()),
                ("benefit_code", models.CharField(max_length=32)),
                ("status", models.CharField(max_length=16)),
                ("channel", models.CharField(max_length=8)),
                ("approved_month", models.CharField(max_length=7)),
                ("paid_month", models.CharField(max_length=7)),
                ("slot", models.SmallIntegerField(default=0)),
                ("claims", models.BigIntegerField(default=0)),
                ("amount_fen", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=(
                            "scheme_year_id",
                            "union_id",
                            "benefit_code",
                            "status",
                            "channel",
                            "approved_month",
                            "paid_month",
                            "slot",
                        ),
                        name="claim_facts_key",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ClaimHospitals",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("scheme_year_id", models.IntegerField()),
                ("union_id", models.IntegerField()),
                ("hospital_name", models.CharField(max_length=128)),
                ("slot", models.SmallIntegerField(default=0)),
                ("claims", models.BigIntegerField(default=0)),
                ("amount_fen", models.BigIntegerField(default=0)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("scheme_year_id", "union_id", "hospital_name", "slot"),
                        name="claim_hospitals_key",
                    )
                ],
            },
        ),
        migrations.RunPython(install, uninstall),
    ]
