"""ID numbers and phones encrypted at rest (3 of 3): the clear columns dropped, the ID
number's blind index unique (one member per ID number, as the clear column was)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("members", "0009_member_encrypt_existing")]

    operations = [
        migrations.RemoveField(model_name="member", name="id_number"),
        migrations.RemoveField(model_name="member", name="phone"),
        migrations.AlterField(
            model_name="member",
            name="id_number_hash",
            field=models.CharField(max_length=32, unique=True),
        ),
    ]
