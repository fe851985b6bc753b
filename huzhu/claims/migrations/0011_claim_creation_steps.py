"""Claims the bulk settlement import created before it wrote creation steps get theirs, so
every claim's timeline starts with its creation whatever the channel (issue 15). Derived
from the claim itself: created by the platform at `created_at`, `submitted` with its review
reason when it was sent to review, else `approved`."""

from django.db import migrations

BACKFILL = """
INSERT INTO claims_claimtransition (claim_id, from_status, to_status, actor_id, at, reason)
SELECT c.id, '', CASE WHEN c.review_reason <> '' THEN 'submitted' ELSE 'approved' END,
       NULL, c.created_at, c.review_reason
FROM claims_claim c
WHERE c.filer = 'platform'
  AND NOT EXISTS (
      SELECT 1 FROM claims_claimtransition t WHERE t.claim_id = c.id AND t.from_status = ''
  )
"""


class Migration(migrations.Migration):
    dependencies = [
        ("claims", "0010_claim_override_computed"),
    ]

    operations = [migrations.RunSQL(BACKFILL, migrations.RunSQL.noop)]
