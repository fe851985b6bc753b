"""The reports' covering index (see Claim.Meta): a year's approved and paid claims grouped
by union, benefit, month, channel or days to approval are read from it alone. It replaces
`claim_status_year_amount` (reports 0002 drops that one: its columns lead this one)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("claims", "0013_claim_invoice_identity")]

    operations = [
        migrations.AddIndex(
            model_name="claim",
            index=models.Index(
                fields=[
                    "status",
                    "scheme_year",
                    "amount_fen",
                    "union",
                    "approved_at",
                    "paid_at",
                    "discharge_date",
                    "benefit_code",
                    "source",
                    "filer",
                ],
                name="claim_report_facts",
            ),
        ),
    ]
