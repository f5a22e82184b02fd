"""member_list: the member pages at scale — a store's member list and the segment builder's
preview, walked several keyset pages deep, with BENCH_LIST_MEMBERS members in the brand
(default 1,000,000) — against the bare `GET /healthz` on the same server.

Both pages are logged in (an HQ user of the bench brand, through the login form). The
issue's goal is p95 under 50 ms per page; the printed ratio is throughput against /healthz.
The bench brand is kept between runs (seeding a million members takes minutes): a later run
with the same member count reuses it; BENCH_LIST_RESEED=1 seeds it again.
"""

from __future__ import annotations

import os
import time
from urllib.parse import urlencode

from .harness import ROUNDS, Bench, Comparison, LoadResult, Request, collect_static, drive, log_in, register

MEMBERS = int(os.environ.get("BENCH_LIST_MEMBERS", "1000000"))
PAGES = 10  # keyset pages walked per store and for the preview
PER_PAGE = 50  # members.views.PER_PAGE
PREVIEW = 20  # members.selectors.segments.PREVIEW_SIZE
PASSWORD = "bench-list-pass-1"
SERIAL = int(os.environ.get("BENCH_LIST_SERIAL", "300"))  # requests per page, one at a time

# The preview's rules: the best recency scores, for members who accept SMS.
PREVIEW_RULES = {
    "match": "all",
    "channel": "sms",
    "c-count": "1",
    "c-0-field": "r_score",
    "c-0-op": "between",
    "c-0-low": "4",
    "c-0-high": "5",
}


def _spec():
    from retail import demo

    slug = f"bench-list-{MEMBERS}"
    return demo.BrandSpec(
        slug=slug,
        name=f"Bench member list {MEMBERS:,}",
        sku_prefix="BL",
        phone_prefix="136",
        categories=demo.FASHION.categories,
        styles=demo.FASHION.styles,
        stores=demo.FASHION.stores,
    )


def _seed(log=print):
    """The bench brand with its members and a computed-looking profile per member."""
    from django.db import connection

    from members.models import Member, MemberProfile
    from retail import demo
    from retail.models import Brand

    spec = _spec()
    brand = Brand.objects.filter(slug=spec.slug).first()
    if brand is not None and (os.environ.get("BENCH_LIST_RESEED") == "1" or not demo._is_complete(brand)):
        log("  wiping the previous bench brand …")
        demo.wipe_brand(brand, usernames=demo.brand_usernames(spec))
        brand = None
    if brand is None:
        t0 = time.perf_counter()
        brand = demo.seed_brand(spec, members=MEMBERS, orders=min(MEMBERS, 20_000), seed=7).brand
        log(f"  seeded {MEMBERS:,} members in {time.perf_counter() - t0:.0f}s")
    if MemberProfile.objects.filter(brand=brand).count() < MEMBERS:
        # Profiles as the nightly computation would leave them, set-based (scores spread 1–5).
        t0 = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {MemberProfile._meta.db_table} (member_id, brand_id, first_order_at, "
                "last_order_at, last_store_id, recency_days, frequency, monetary, lifetime_value, "
                "r_score, f_score, m_score, favourite_categories, computed_at) "
                "SELECT m.id, m.brand_id, m.joined_at, m.joined_at, m.store_id, mod(m.id, 365), mod(m.id, 7) + 1, "
                "mod(m.id, 5000), mod(m.id, 9000), mod(m.id, 5) + 1, mod(m.id / 5, 5) + 1, mod(m.id / 25, 5) + 1, "
                f"'[]'::jsonb, now() FROM {Member._meta.db_table} m WHERE m.brand_id = %s "
                f"AND NOT EXISTS (SELECT 1 FROM {MemberProfile._meta.db_table} p WHERE p.member_id = m.id)",
                [brand.pk],
            )
            cursor.execute(f"ANALYZE {MemberProfile._meta.db_table}")
            cursor.execute(f"ANALYZE {Member._meta.db_table}")
        log(f"  profiles written in {time.perf_counter() - t0:.0f}s")
    return brand


def _hq_user(brand):
    from django.contrib.auth import get_user_model

    from retail.choices import Role
    from retail.models import StaffRole

    user, _ = get_user_model().objects.get_or_create(username=f"bench-list-hq-{brand.pk}")
    user.set_password(PASSWORD)
    user.save()
    StaffRole.objects.get_or_create(user=user, brand=brand, store=None, role=Role.HQ_ADMIN)
    return user


def _keyset_starts(qs, per_page: int) -> list[int | None]:
    """`after` values of the first PAGES keyset pages of a queryset ordered by -id."""
    ids = list(qs.order_by("-id").values_list("id", flat=True)[: per_page * PAGES])
    return [None] + [ids[n * per_page - 1] for n in range(1, PAGES) if n * per_page - 1 < len(ids)]


@register(
    "member_list",
    goal=0.25,
    about="a store's member list and the segment preview, keyset pages, vs GET /healthz (logged in)",
)
def member_list(bench: Bench) -> Comparison:
    from members.models import Member
    from members.rules import compile_rules, validate_rules
    from retail.models import Store

    brand = _seed()
    user = _hq_user(brand)
    stores = list(Store.objects.filter(brand=brand).order_by("code").values_list("pk", flat=True))
    list_pages = [
        (s, after) for s in stores for after in _keyset_starts(Member.objects.filter(store_id=s), PER_PAGE)
    ]
    rules = validate_rules(
        {"match": "all", "conditions": [{"field": "r_score", "op": "between", "value": [4, 5]}]},
        brand_id=brand.pk,
    )
    matching = Member.objects.filter(brand=brand, consent_sms=True).filter(compile_rules(rules))
    preview_pages = _keyset_starts(matching, PREVIEW)

    collect_static()
    with bench.server() as server:
        cookie = {"Cookie": log_in(server.base_url, user.get_username(), PASSWORD)}

        def healthz(n: int) -> Request:
            return Request("GET", "/healthz", headers=cookie)

        def store_page(n: int) -> Request:
            store_id, after = list_pages[n % len(list_pages)]
            query = {"store": store_id, **({"after": after} if after else {})}
            return Request("GET", f"/members/?{urlencode(query)}", headers=cookie)

        def preview_page(n: int) -> Request:
            after = preview_pages[n % len(preview_pages)]
            query = {**PREVIEW_RULES, **({"after": after} if after else {})}
            return Request("GET", f"/members/segments/preview/?{urlencode(query)}", headers=cookie)

        comparison = bench.compare(
            server,
            baseline=healthz,
            measured=store_page,
            baseline_label="GET /healthz",
            measured_label="GET /members/?store=&after= (store member list)",
        )
        preview = LoadResult("GET /members/segments/preview/ (segment preview)")
        drive(server, preview_page, label="warm-up", count=100, first=10**8)
        for round_no in range(ROUNDS):
            preview.merge(drive(server, preview_page, label=preview.label, first=round_no * 1000))
        # one request at a time: the page's own latency, without queueing behind the others
        serial = {
            label: drive(server, factory, label=label, count=SERIAL, concurrency=1, seconds=60)
            for label, factory in (
                ("/healthz", healthz),
                ("store list", store_page),
                ("preview", preview_page),
            )
        }

    def p(result: LoadResult, q: float) -> str:
        return f"{result.percentile(q) * 1000:.1f} ms"

    comparison.notes += [
        f"bench brand: {Member.objects.filter(brand=brand).count():,} members in {len(stores)} stores; "
        f"{len(list_pages)} store pages and {len(preview_pages)} preview pages walked (keyset)",
        f"p95 per page: store member list {p(comparison.measured, 95)}, segment preview {p(preview, 95)}, "
        f"/healthz {p(comparison.baseline, 95)} (goal: p95 < 50 ms per page)",
        "one at a time, p95: "
        + ", ".join(f"{label} {p(result, 95)} (p50 {p(result, 50)})" for label, result in serial.items()),
        f"segment preview: {preview.throughput:.1f} req/s, p50 {p(preview, 50)}, p99 {p(preview, 99)}, "
        f"ratio to /healthz {preview.throughput / comparison.baseline.throughput:.2f}, errors {preview.errors}",
    ]
    if preview.errors:
        comparison.measured.statuses.update({k: v for k, v in preview.statuses.items() if not 200 <= k < 300})
        comparison.measured.failures += preview.failures
    return comparison
