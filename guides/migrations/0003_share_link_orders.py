"""Share-link orders are counted in guides' own table (ShareLinkOrder, unique per order)
instead of a `share_link_counted` marker in retail's Order.attribution. The data step makes a
row for every order the marker says was counted, so a redelivered `order.created` does not
count it again. It only reads retail's orders (the old markers stay in their JSON, unused).
Reversing drops the table; the data step has nothing to undo."""

import django.db.models.deletion
from django.db import migrations, models

BATCH = 1000


def backfill_counted_orders(apps, schema_editor) -> int:
    """A ShareLinkOrder for each order marked `share_link_counted` (whatever its status now:
    it was paid when counted) whose link still exists and is the order's brand's, unless it
    has one; returns how many were made."""
    Order = apps.get_model("retail", "Order")
    ShareLink = apps.get_model("guides", "ShareLink")
    ShareLinkOrder = apps.get_model("guides", "ShareLinkOrder")
    marked = (
        Order.objects.filter(attribution__share_link_counted=True, attribution__has_key="share_link")
        .order_by("id")
        .values_list("id", "brand_id", "total", "attribution")
    )
    made = 0
    batch: list[tuple[int, int, object, int]] = []

    def flush() -> int:
        links = {
            link_id: (brand_id, store_id)
            for link_id, brand_id, store_id in ShareLink.objects.filter(
                pk__in={link_id for *_rest, link_id in batch}
            ).values_list("id", "brand_id", "store_id")
        }
        have = set(
            ShareLinkOrder.objects.filter(order_id__in=[order_id for order_id, *_rest in batch]).values_list(
                "order_id", flat=True
            )
        )
        rows = [
            ShareLinkOrder(
                brand_id=links[link_id][0],
                store_id=links[link_id][1],
                link_id=link_id,
                order_id=order_id,
                amount=total,
            )
            for order_id, brand_id, total, link_id in batch
            if link_id in links and links[link_id][0] == brand_id and order_id not in have
        ]
        ShareLinkOrder.objects.bulk_create(rows, ignore_conflicts=True)
        batch.clear()
        return len(rows)

    for order_id, brand_id, total, record in marked.iterator(chunk_size=BATCH):
        link_id = (record or {}).get("share_link")
        if isinstance(link_id, int) and not isinstance(link_id, bool):
            batch.append((order_id, brand_id, total, link_id))
        if len(batch) >= BATCH:
            made += flush()
    if batch:
        made += flush()
    return made


class Migration(migrations.Migration):
    dependencies = [
        ("guides", "0002_backfill_guide_profiles"),
        ("retail", "0012_onboarding_and_spaces"),
    ]

    operations = [
        migrations.CreateModel(
            name="ShareLinkOrder",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("amount", models.DecimalField(decimal_places=2, max_digits=12, verbose_name="amount")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created at")),
                (
                    "brand",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="retail.brand",
                    ),
                ),
                (
                    "link",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="counted_orders",
                        to="guides.sharelink",
                        verbose_name="share link",
                    ),
                ),
                (
                    "order",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="retail.order",
                        verbose_name="order",
                    ),
                ),
                (
                    "store",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="retail.store",
                    ),
                ),
            ],
            options={
                "verbose_name": "share link order",
                "verbose_name_plural": "share link orders",
                "ordering": ["-created_at", "-id"],
            },
        ),
        migrations.RunPython(backfill_counted_orders, migrations.RunPython.noop, elidable=True),
    ]
