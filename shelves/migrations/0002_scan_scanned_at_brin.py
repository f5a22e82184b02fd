"""A BRIN index on Scan.scanned_at for the minutely count of every brand's scans
(publish_scan_counts filters by time alone; the b-tree indexes start with store or screen).
BRIN suits an append-only table in time order and costs next to nothing per insert, which
matters on the scan hot path. PostgreSQL only: SQLite (the embedded mode) has no BRIN and
no such volume."""

from django.db import migrations


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS shelves_scan_scanned_at_brin ON shelves_scan USING brin (scanned_at)"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS shelves_scan_scanned_at_brin")


class Migration(migrations.Migration):
    dependencies = [("shelves", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
