"""ID numbers and phones encrypted at rest with a blind index (1 of 3: the new columns)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("members", "0007_smscode_send_error")]

    operations = [
        migrations.AddField(
            model_name="member",
            name="id_number_encrypted",
            field=models.TextField(default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="member",
            name="id_number_hash",
            field=models.CharField(default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="member",
            name="id_number_masked",
            field=models.CharField(default="", max_length=18, verbose_name="身份证号"),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="member",
            name="phone_encrypted",
            field=models.TextField(blank=True, default=""),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="member",
            name="phone_hash",
            field=models.CharField(blank=True, default="", max_length=32),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="member",
            name="phone_masked",
            field=models.CharField(blank=True, default="", max_length=20, verbose_name="手机号"),
            preserve_default=False,
        ),
    ]
