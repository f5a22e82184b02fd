"""Every guide role without a workbench profile gets one (until now only the demo seeded
them): in the store of the user's newest guide role of the brand, with a generated tracking
code and no phone (the guide adds it at /guides/me/). Reversing leaves the profiles: they may
carry phones and share links by then."""

import secrets

from django.db import migrations

# a frozen copy of guides.services.profiles' alphabet: migrations do not import app code
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
BATCH = 1000


def backfill_profiles(apps, schema_editor) -> int:
    """Create the missing profiles; returns how many were made."""
    StaffRole = apps.get_model("retail", "StaffRole")
    GuideProfile = apps.get_model("guides", "GuideProfile")
    have = set(GuideProfile.objects.values_list("brand_id", "user_id"))
    wanted: dict[tuple[int, int], int] = {}
    roles = (
        StaffRole.objects.filter(role="guide", store__isnull=False)
        .order_by("-id")
        .values_list("brand_id", "user_id", "store_id")
    )
    for brand_id, user_id, store_id in roles.iterator(chunk_size=BATCH):
        if (brand_id, user_id) not in have:
            wanted.setdefault((brand_id, user_id), store_id)  # newest role first
    if not wanted:
        return 0
    brands = {brand_id for brand_id, _user_id in wanted}
    taken: dict[int, set[str]] = {brand_id: set() for brand_id in brands}
    for brand_id, code in GuideProfile.objects.filter(brand_id__in=brands).values_list(
        "brand_id", "tracking_code"
    ):
        taken[brand_id].add(code)
    rows = []
    for (brand_id, user_id), store_id in sorted(wanted.items()):
        code = _new_code(taken[brand_id])
        taken[brand_id].add(code)
        rows.append(GuideProfile(brand_id=brand_id, user_id=user_id, store_id=store_id, tracking_code=code))
    GuideProfile.objects.bulk_create(rows, batch_size=BATCH)
    return len(rows)


def _new_code(taken: set[str]) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code not in taken:
            return code


class Migration(migrations.Migration):
    dependencies = [
        ("guides", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(backfill_profiles, migrations.RunPython.noop, elidable=True),
    ]
