"""Fill the name blind index of members who joined before it existed (batched, by id)."""

from django.db import migrations

BATCH = 2000


def backfill(apps, schema_editor):
    from members import pii

    Member = apps.get_model("members", "Member")
    last = 0
    while True:
        rows = list(
            Member.objects.filter(pk__gt=last, name_hash="")
            .exclude(name_encrypted="")
            .order_by("pk")
            .values_list("pk", "name_encrypted")[:BATCH]
        )
        if not rows:
            return
        for pk, token in rows:
            Member.objects.filter(pk=pk).update(name_hash=pii.name_index(pii.decrypt(token)))
        last = rows[-1][0]


class Migration(migrations.Migration):
    dependencies = [("members", "0005_tags_segments_profiles_imports")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
