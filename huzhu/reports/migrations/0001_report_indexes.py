"""Indexes the reports and dashboards need on tables other apps own.

Created here (plain SQL, the same on SQLite and PostgreSQL) rather than in those apps'
models, so the reports floor stays self-contained: the claims app keeps only the indexes its
own writers and queues use (each index costs the settlement import per row).

- claim_status_year_amount (status, scheme_year_id, amount_fen): the fund position, the
  balance a payment batch is checked against, and the dashboards' approved-unpaid and paid
  totals become index-only range scans instead of reading a million wide claim rows.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("claims", "0009_ledger_member_index_redundant")]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS claim_status_year_amount "
            "ON claims_claim (status, scheme_year_id, amount_fen)",
            "DROP INDEX IF EXISTS claim_status_year_amount",
        ),
    ]
