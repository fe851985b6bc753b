"""Drop `claim_status_year_amount` (0001): the claims app's covering index
`claim_report_facts` (claims 0014) begins with the same (status, scheme_year_id, amount_fen)
and serves every query it served; two indexes would cost the settlement import twice."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_report_indexes"),
        ("claims", "0014_report_facts_index"),
    ]

    operations = [
        migrations.RunSQL(
            "DROP INDEX IF EXISTS claim_status_year_amount",
            "CREATE INDEX IF NOT EXISTS claim_status_year_amount "
            "ON claims_claim (status, scheme_year_id, amount_fen)",
        ),
    ]
