"""The (brand, occurred_at) index the nightly data-backflow scoring reads a brand's day by.
On PostgreSQL it is built CONCURRENTLY (the events table is large and written all the time:
a plain CREATE INDEX would hold ingestion for the build), hence a non-atomic migration."""

from django.db import migrations, models

INDEX = models.Index(fields=["brand", "occurred_at"], name="device_event_brand_occurred")


def create_index(apps, schema_editor):
    model = apps.get_model("devices", "DeviceEvent")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS device_event_brand_occurred "
            "ON devices_deviceevent (brand_id, occurred_at)"
        )
    else:
        schema_editor.add_index(model, INDEX)


def drop_index(apps, schema_editor):
    model = apps.get_model("devices", "DeviceEvent")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX CONCURRENTLY IF EXISTS device_event_brand_occurred")
    else:
        schema_editor.remove_index(model, INDEX)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("devices", "0002_rejected_events"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="deviceevent", index=INDEX)],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
    ]
