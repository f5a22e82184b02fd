"""Member profiles lose their database FK constraints (member, brand, last store): the rows are
derived by one set-based statement, and checking a million inserted rows at COMMIT (a FOR KEY
SHARE lookup each) took longer than computing them. on_delete still acts through the ORM."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("members", "0006_backfill_name_hash"),
        ("retail", "0002_drop_redundant_fk_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="memberprofile",
            name="brand",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="retail.brand",
            ),
        ),
        migrations.AlterField(
            model_name="memberprofile",
            name="last_store",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="retail.store",
                verbose_name="last store",
            ),
        ),
        migrations.AlterField(
            model_name="memberprofile",
            name="member",
            field=models.OneToOneField(
                db_constraint=False,
                on_delete=django.db.models.deletion.CASCADE,
                primary_key=True,
                related_name="profile",
                serialize=False,
                to="members.member",
            ),
        ),
    ]
