# A claim link is now released (batch cancelled, bank refused the row) instead of carrying a
# state: settling a 100,000-claim batch no longer rewrites every link (paid links stay as
# they are and keep holding their claim, so it can never be paid again).

from django.db import migrations, models


def released_from_state(apps, schema_editor):
    link = apps.get_model("payments", "PaymentRowClaim")
    link.objects.filter(state__in=["failed", "cancelled"]).update(released=True)


class Migration(migrations.Migration):
    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="paymentrowclaim",
            name="released",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(released_from_state, migrations.RunPython.noop),
        migrations.RemoveConstraint(
            model_name="paymentrowclaim",
            name="payment_claim_one_live_link",
        ),
        migrations.RemoveIndex(
            model_name="paymentrowclaim",
            name="payments_pa_batch_i_b170eb_idx",
        ),
        migrations.RemoveField(
            model_name="paymentrowclaim",
            name="state",
        ),
        migrations.AddConstraint(
            model_name="paymentrowclaim",
            constraint=models.UniqueConstraint(
                condition=models.Q(("released", False)),
                fields=("claim",),
                name="payment_claim_one_live_link",
            ),
        ),
    ]
