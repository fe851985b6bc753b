"""The reports' rollups of the claims (see `huzhu/reports/rollup.py`).

Kept by database triggers on `claims_claim` (SQLite and PostgreSQL alike), so every writer —
the claims core, the settlement import's COPY, the payments' bulk updates, a raw SQL fix — is
counted; nothing in Python writes them except `rollup_rebuild`. A key's figures are the sum
over its `slot`s (PostgreSQL: one per writing session, see rollup.SLOTS); keys whose sum has
fallen to zero stay and readers skip them.
"""

from django.db import models


class ClaimFacts(models.Model):
    """Approved and paid claims per (scheme year, union, benefit, status, channel, month of
    approval, month of payment): count and amount in fen. Months are local ('YYYY-MM', '' when
    the time is empty)."""

    scheme_year_id = models.IntegerField()
    union_id = models.IntegerField()
    benefit_code = models.CharField(max_length=32)
    status = models.CharField(max_length=16)
    channel = models.CharField(max_length=8)
    approved_month = models.CharField(max_length=7)
    paid_month = models.CharField(max_length=7)
    slot = models.SmallIntegerField(default=0)  # see rollup.SLOTS
    claims = models.BigIntegerField(default=0)
    amount_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "scheme_year_id",
                    "union_id",
                    "benefit_code",
                    "status",
                    "channel",
                    "approved_month",
                    "paid_month",
                    "slot",
                ],
                name="claim_facts_key",
            )
        ]


class ClaimDays(models.Model):
    """Days from discharge to approval (`kind` 'a': approved or paid claims with a discharge
    date) and to payment ('p': paid claims with a payment time) per (scheme year, union,
    channel): how many claims took each number of days."""

    scheme_year_id = models.IntegerField()
    union_id = models.IntegerField()
    channel = models.CharField(max_length=8)
    kind = models.CharField(max_length=1)
    days = models.IntegerField()
    slot = models.SmallIntegerField(default=0)  # see rollup.SLOTS
    claims = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scheme_year_id", "union_id", "channel", "kind", "days", "slot"],
                name="claim_days_key",
            )
        ]


class ClaimHospitals(models.Model):
    """Approved and paid claims per (scheme year, union, hospital name): count and amount."""

    scheme_year_id = models.IntegerField()
    union_id = models.IntegerField()
    hospital_name = models.CharField(max_length=128)
    slot = models.SmallIntegerField(default=0)  # see rollup.SLOTS
    claims = models.BigIntegerField(default=0)
    amount_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scheme_year_id", "union_id", "hospital_name", "slot"],
                name="claim_hospitals_key",
            )
        ]
