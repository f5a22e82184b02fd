"""store_onboarding: a 1,000-store CSV (each store with a new manager and two new guides)
through the whole bulk onboarding (upload checks, per-row validation, the existing-code and
username lookups, users, stores, roles and onboardings written set-based, progress, one
audit row) against the bare minimum load of the same rows in the same run: `bulk_create` of
the 1,000 stores, 3,000 users, 3,000 roles and 1,000 onboardings, no checks at all.

Each run loads into an empty brand of its own with fresh usernames. BENCH_STORES changes the
store count (default 1,000), BENCH_STORE_RUNS the runs per path (default 3). The issue's goal:
1,000 stores in under 60 s; the stores per second of each path are printed.
"""

from __future__ import annotations

import itertools
import os
import secrets

from .harness import Bench, Comparison, register, timed

STORES = int(os.environ.get("BENCH_STORES", "1000"))
RUNS = int(os.environ.get("BENCH_STORE_RUNS", "3"))
HEADER = "code,name,city,address,latitude,longitude,manager_username,manager_email,guide_usernames\n"


def _csv(prefix: str) -> str:
    return HEADER + "".join(
        f"S{i:05d},门店 {i},城市 {i % 40},路 {i} 号,{30 + i % 10}.123456,{120 + i % 10}.654321,"
        f"{prefix}-m{i},{prefix}-m{i}@example.com,{prefix}-g{i}a;{prefix}-g{i}b\n"
        for i in range(STORES)
    )


@register(
    "store_onboarding",
    goal=0.5,
    about=f"{STORES:,}-store CSV bulk onboarding (checks, users, roles, onboardings) vs plain bulk_create of the same rows",
)
def store_onboarding(bench: Bench) -> Comparison:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.test import override_settings
    from django.utils import timezone

    from retail import demo
    from retail.choices import Role
    from retail.models import Brand, OnboardingImport, StaffRole, Store, StoreOnboarding
    from retail.onboarding import imports

    User = get_user_model()
    run_id = secrets.token_hex(3)
    brands: list[Brand] = []
    prefixes: list[str] = []
    counter = itertools.count()
    done: list[OnboardingImport] = []

    def new_brand(label: str) -> tuple[Brand, str]:
        n = next(counter)
        brand = Brand.objects.create(
            name=f"Bench onboarding {label} {run_id}-{n}", slug=f"bench-onb-{label}-{run_id}-{n}"
        )
        brands.append(brand)
        prefix = f"bo{run_id}{n}"
        prefixes.append(prefix)
        return brand, prefix

    def ours() -> None:
        brand, prefix = new_brand("ours")
        data = _csv(prefix).encode()
        with override_settings(JOBS_INLINE=True):
            onboarding_import, _unknown = imports.upload_onboarding_import(
                brand_id=brand.pk, filename="stores.csv", data=data
            )
        onboarding_import.refresh_from_db()
        if onboarding_import.status != "done" or onboarding_import.created != STORES:
            raise RuntimeError(
                f"import ended {onboarding_import.status}: created {onboarding_import.created}, "
                f"refused {onboarding_import.failed}, {onboarding_import.error} {onboarding_import.errors[:3]}"
            )
        done.append(onboarding_import)

    def baseline() -> None:
        brand, prefix = new_brand("base")
        now = timezone.now()
        stores = Store.objects.bulk_create(
            [
                Store(
                    brand=brand,
                    code=f"S{i:05d}",
                    name=f"门店 {i}",
                    city=f"城市 {i % 40}",
                    address=f"路 {i} 号",
                )
                for i in range(STORES)
            ]
        )
        names = [(f"{prefix}-m{i}", f"{prefix}-g{i}a", f"{prefix}-g{i}b") for i in range(STORES)]
        users = User.objects.bulk_create(
            [User(username=u, password=make_password(None)) for trio in names for u in trio]
        )
        roles = []
        for i, store in enumerate(stores):
            manager, guide_a, guide_b = users[3 * i : 3 * i + 3]
            roles += [
                StaffRole(user=manager, brand=brand, store=store, role=Role.STORE_MANAGER),
                StaffRole(user=guide_a, brand=brand, store=store, role=Role.GUIDE),
                StaffRole(user=guide_b, brand=brand, store=store, role=Role.GUIDE),
            ]
        StaffRole.objects.bulk_create(roles)
        StoreOnboarding.objects.bulk_create(
            [StoreOnboarding(brand=brand, store=store, started_at=now) for store in stores]
        )

    try:
        with override_settings(DEBUG=False):  # DEBUG would keep every statement in memory
            # warm both paths once (imports, connections, statement caches), then measure
            ours()
            baseline()
            measured = timed(f"bulk onboarding of {STORES:,} stores", ours, repeat=RUNS)
            base = timed(f"plain bulk_create of the same rows ({STORES:,} stores)", baseline, repeat=RUNS)
        per_run = measured.seconds / RUNS
        base_per_run = base.seconds / RUNS
        notes = [
            f"{STORES:,} stores with {3 * STORES:,} new users and roles: ours {per_run:.2f} s a run "
            f"({STORES / per_run:,.0f} stores/s; goal under 60 s), plain bulk_create {base_per_run:.2f} s "
            f"({STORES / base_per_run:,.0f} stores/s); ratio {base_per_run / per_run:.2f} "
            f"(median of {RUNS}: ours {measured.percentile(50):.2f} s, baseline {base.percentile(50):.2f} s)"
        ]
    finally:
        for brand in brands:
            demo.wipe_brand(brand)
        for prefix in prefixes:
            User.objects.filter(username__startswith=f"{prefix}-").delete()
    return Comparison(baseline=base, measured=measured, notes=notes)
