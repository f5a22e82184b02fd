"""workbench_home: the guide's tablet workbench (GET /guides/: today's tasks, the first page of
my members, my month in numbers, the store's leaderboard) for a guide with
BENCH_WORKBENCH_MEMBERS members (default 5,000) and BENCH_WORKBENCH_TASKS tasks due today
(default 200), with a month of calls and conversions — against the bare `GET /livez` view on
the same server, both with the guide's session cookie.

The issue's goal: p95 of the workbench ≤ 3× the bare view's p95 in the same run, i.e. the
p95 ratio (bare / workbench) ≥ 0.33; the printed summary ratio is the harness's throughput
ratio, the p95 ratio is in the notes. The page's query count (measured once in-process with
Django's test client) is printed too: it does not grow with members or tasks (the tests
assert that)."""

from __future__ import annotations

import os
import secrets
import time

from .harness import Bench, Comparison, Request, collect_static, log_in, register

MEMBERS = int(os.environ.get("BENCH_WORKBENCH_MEMBERS", "5000"))
TASKS = int(os.environ.get("BENCH_WORKBENCH_TASKS", "200"))
CALLS = int(os.environ.get("BENCH_WORKBENCH_CALLS", "2000"))  # this month's calls of the store
PASSWORD = "bench-workbench-pass-1"


def _seed(log=print):
    """A brand, a store with 5 guides, the measured guide's members, tasks, calls and
    conversions: set-based INSERT … SELECT (masked placeholders instead of encrypted PII)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from guides.models import Conversion, GuideProfile, Interaction, Task
    from members.models import Member
    from retail.choices import Role
    from retail.models import Brand, Order, StaffRole, Store

    run_id = secrets.token_hex(3)
    t0 = time.perf_counter()
    brand = Brand.objects.create(slug=f"bench-wb-{run_id}", name=f"Bench workbench {run_id}")
    store = Store.objects.create(brand=brand, code=f"WB{run_id}", name="Bench flagship 旗舰店")
    User = get_user_model()
    guides = []
    for n in range(5):
        user = User.objects.create(username=f"bench-wb-{run_id}-{n}")
        user.set_password(PASSWORD)
        user.save()
        StaffRole.objects.create(user=user, brand=brand, store=store, role=Role.GUIDE)
        GuideProfile.objects.create(brand=brand, store=store, user=user, tracking_code=f"B{run_id}{n}")
        guides.append(user)
    guide = guides[0]
    now = timezone.now()
    with connection.cursor() as cursor:
        # members: most the measured guide's, the rest spread over the other guides
        cursor.execute(
            f"INSERT INTO {Member._meta.db_table} (brand_id, store_id, guide_id, member_no, phone_encrypted, "
            "phone_hash, phone_masked, name_encrypted, name_masked, name_hash, consent_call, consent_sms, "
            "consent_chat, source, joined_at, points_balance, lifetime_points, created_at, updated_at) "
            "SELECT %s, %s, CASE WHEN n <= %s THEN %s ELSE %s END, 'WB' || lpad(n::text, 8, '0'), '', "
            "md5(%s || n::text), '137****' || lpad((n %% 10000)::text, 4, '0'), '', '会员' || n, '', "
            "n %% 5 <> 0, true, n %% 2 = 0, 'store', %s - (n) * interval '1 minute', 0, 0, %s, %s "
            "FROM generate_series(1, %s) AS n",
            [brand.pk, store.pk, MEMBERS, guide.pk, guides[1].pk, run_id, now, now, now, MEMBERS + 1000],
        )
        member_ids = list(
            Member.objects.filter(brand=brand, guide=guide).order_by("id").values_list("id", flat=True)
        )
        # today's tasks of the guide (some overdue), and older done ones
        cursor.execute(
            f"INSERT INTO {Task._meta.db_table} (brand_id, store_id, guide_id, member_id, kind, title, due_at, "
            "status, created_at, updated_at) "
            "SELECT %s, %s, %s, m.id, 'call', 'Monthly care call', %s - ((m.rn %% 300)) * interval '1 minute', "
            "CASE WHEN m.rn <= %s THEN 'open' ELSE 'done' END, %s, %s "
            "FROM (SELECT id, row_number() OVER (ORDER BY id) AS rn FROM "
            f"{Member._meta.db_table} WHERE guide_id = %s AND brand_id = %s) m WHERE m.rn <= %s",
            [brand.pk, store.pk, guide.pk, now, TASKS, now, now, guide.pk, brand.pk, TASKS * 5],
        )
        # this month's calls over the store's guides
        cursor.execute(
            f"INSERT INTO {Interaction._meta.db_table} (brand_id, store_id, guide_id, member_id, kind, source, "
            "occurred_at, call_status, provider, provider_ref, answered, duration_seconds, outcome, next_step, "
            "note, created_at, updated_at) "
            "SELECT %s, %s, (ARRAY[%s, %s, %s, %s, %s])[1 + n %% 5], %s, 'call', 'workbench', "
            "%s - (n * 7) * interval '1 minute', CASE WHEN n %% 3 = 0 THEN 'no_answer' ELSE 'completed' END, "
            "'simulated', '', n %% 3 <> 0, (n %% 3) * 60, '', '', '', %s, %s FROM generate_series(1, %s) AS n",
            [brand.pk, store.pk, *[g.pk for g in guides], member_ids[0], now, now, now, CALLS],
        )
    # conversions: one order per tenth call
    calls = list(
        Interaction.objects.filter(brand=brand, answered=True).values_list("id", "guide_id", "occurred_at")[
            : CALLS // 10
        ]
    )
    orders = Order.objects.bulk_create(
        Order(
            brand=brand,
            store=store,
            member_id=member_ids[0],
            external_id=f"bench-wb-{run_id}-{i}",
            subtotal=899,
            total=899,
            paid_at=when,
        )
        for i, (_id, _g, when) in enumerate(calls)
    )
    Conversion.objects.bulk_create(
        Conversion(
            brand=brand,
            store=store,
            guide_id=guide_id,
            member_id=member_ids[0],
            order=order,
            interaction_id=interaction_id,
            amount=899,
            ordered_at=when,
        )
        for order, (interaction_id, guide_id, when) in zip(orders, calls, strict=True)
    )
    with connection.cursor() as cursor:
        for model in (Member, Task, Interaction, Conversion):
            cursor.execute(f"ANALYZE {model._meta.db_table}")
    log(
        f"  seeded {MEMBERS:,} members, {TASKS} tasks today, {CALLS:,} calls, {len(orders)} conversions "
        f"in {time.perf_counter() - t0:.1f}s"
    )
    return guide


def _query_count(guide) -> tuple[int, int]:
    """The page's queries, measured in-process: the second request (sessions and settings
    warm, the workbench's sections cached) and, after a write, the first one (sections read
    fresh)."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from guides.selectors.workbench import bump

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    client = Client()
    client.force_login(guide)
    client.get("/guides/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/guides/")
    if response.status_code != 200:
        raise RuntimeError(f"GET /guides/ answered {response.status_code}")
    bump(guide_ids=[guide.pk])  # as a write does: the next GET renders the sections fresh
    with CaptureQueriesContext(connection) as fresh:
        client.get("/guides/")
    return len(captured.captured_queries), len(fresh.captured_queries)


@register(
    "workbench_home",
    goal=0.33,
    about="a guide's workbench (5,000 members, 200 tasks today) vs GET /livez (logged in)",
)
def workbench_home(bench: Bench) -> Comparison:
    guide = _seed()
    queries = _query_count(guide)
    collect_static()
    with bench.server() as server:
        cookie = {"Cookie": log_in(server.base_url, guide.get_username(), PASSWORD)}

        def bare(n: int) -> Request:
            return Request("GET", "/livez", headers=cookie)

        def home(n: int) -> Request:
            return Request("GET", "/guides/", headers=cookie)

        comparison = bench.compare(
            server,
            baseline=bare,
            measured=home,
            baseline_label="GET /livez (bare Django view)",
            measured_label="GET /guides/ (the guide's workbench)",
        )
    base95 = comparison.baseline.percentile(95)
    ours95 = comparison.measured.percentile(95)
    comparison.notes += [
        f"p95: workbench {ours95 * 1000:.1f} ms, bare view {base95 * 1000:.1f} ms; "
        f"p95 ratio (bare / workbench) {base95 / ours95 if ours95 else 0:.2f} (goal ≥ 0.33: p95 ≤ 3× the bare view)",
        f"queries per GET /guides/: {queries[0]} with its sections cached, {queries[1]} right after a write "
        "(fixed: the same with 5 or 5,000 members)",
    ]
    return comparison
