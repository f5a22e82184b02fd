"""flash_sale: 10,000 coupon claims `POST /api/v1/coupons/claim/` (each with its own
Idempotency-Key) from 100 concurrent clients across 50 templates with tight stock (100 each:
half the claims find their template sold out), against the bare authenticated DRF endpoint
`GET /api/v1/ping/` (token check, scopes, throttle, nothing else) on the same server in the
same run.

Two modes, each on a fresh server and fresh templates:
- "database": COUPON_STOCK_GATE=0, every claim reaches PostgreSQL (the conditional UPDATE
  of the template row serialises its claimers);
- "gate": the Redis stock counter in front (promotions.services.stockgate): once a
  template's counter is 0 its claims are refused from Redis.
Both are printed; the summary line is the gate's (the design for Double-11), or the
database's when Redis is absent.

An answer is correct when it is 201 (a coupon) or 409 `sold_out`; anything else is broken.
A claim lost on the wire (the connection dropped) is resent with the same Idempotency-Key,
as a partner would: 200 then means its first attempt had claimed (the same coupon).
Afterwards the database is checked: coupons per template ≤ its stock (oversell count must
be 0), `claimed` = coupons, coupons = claims answered 201 or 200.

The harness's summary line prints its default concurrency (8); this benchmark drives
100 clients (BENCH_FLASH_CLIENTS)."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import time
from collections import Counter

from .harness import Bench, Comparison, LoadResult, Request, drive, redis_url, register

CLAIMS = int(os.environ.get("BENCH_FLASH_CLAIMS", "10000"))
CLIENTS = int(os.environ.get("BENCH_FLASH_CLIENTS", "100"))
TEMPLATES = 50
STOCK = 100  # per template: 5,000 coupons for 10,000 claims
TOKENS = 100  # partner clients (tokens); request n uses token n % TOKENS
BASELINE = int(os.environ.get("BENCH_FLASH_BASELINE", "5000"))
RETRIES = 2  # a claim lost on the wire is resent with its key, as a partner would


@register(
    "flash_sale",
    goal=0.5,
    about="POST /api/v1/coupons/claim/ (10,000 claims, 100 clients, 50 templates, tight stock; "
    "database only and with the Redis stock gate) vs GET /api/v1/ping/",
)
def flash_sale(bench: Bench) -> Comparison:
    from django.db import transaction

    from retail.models import Brand

    run_id = secrets.token_hex(3)
    with transaction.atomic():
        brand = Brand.objects.create(name=f"Bench flash {run_id}", slug=f"bench-flash-{run_id}")
    try:
        setup = _setup(brand, run_id)
        modes = ["database", "gate"] if redis_url() else ["database"]
        results = {}
        for mode in modes:
            templates = _templates(brand, setup["campaign"], f"{run_id}-{mode}")
            results[mode] = _run_mode(bench, mode, setup, templates)
        chosen = results.get("gate") or results["database"]
        comparison = Comparison(baseline=chosen["baseline"], measured=chosen["claims"])
        for mode in modes:
            r = results[mode]
            ratio = r["claims"].throughput / r["baseline"].throughput if r["baseline"].throughput else 0
            comparison.notes.append(
                f"{mode:8}: {r['claims'].throughput:.0f} claims/s, p50 {r['claims'].percentile(50) * 1000:.1f} ms, "
                f"p99 {r['claims'].percentile(99) * 1000:.1f} ms | ping {r['baseline'].throughput:.0f} req/s, "
                f"p50 {r['baseline'].percentile(50) * 1000:.1f} ms | ratio {ratio:.2f} | "
                f"answers {dict(r['answers'])} | {r['check']}"
            )
        if "gate" not in results:
            comparison.notes.append(
                "Redis absent: the gate mode was not run (it passes through without Redis)"
            )
        broken = [m for m, r in results.items() if r["oversold"] or r["problems"]]
        if broken:
            raise RuntimeError(f"flash_sale broken in {broken}: {[results[m]['problems'] for m in broken]}")
        return comparison
    finally:
        _wipe(brand)


# --- data ----------------------------------------------------------------------------------------


def _setup(brand, run_id: str) -> dict:
    from django.db import transaction
    from django.utils import timezone

    from members.models import Member
    from promotions.choices import CampaignStatus
    from promotions.models import Campaign
    from retail import services
    from retail.models import Store

    members_needed = max(1, -(-CLAIMS // TEMPLATES))  # each member claims each template once
    with transaction.atomic():
        store = Store.objects.create(brand=brand, code=f"FS{run_id}", name="Flash store")
        campaign = Campaign.objects.create(
            brand=brand, name="Flash sale", status=CampaignStatus.PUBLISHED, published_at=timezone.now()
        )
        members = []
        for i in range(members_needed):
            member = Member(brand=brand, member_no=f"FS{run_id}{i:06d}", joined_at=timezone.now())
            member.set_phone(f"137{i:08d}")
            members.append(member)
        members = Member.objects.bulk_create(members)
        tokens = []
        for i in range(TOKENS):
            client = services.create_api_client(
                brand=brand, name=f"flash {i}", scopes=["coupons:read", "coupons:write"],
                rate_limit_per_minute=10**9,
            )  # fmt: skip
            tokens.append(services.issue_api_token(client=client)[1])
    return {"store": store, "campaign": campaign, "member_ids": [m.pk for m in members], "tokens": tokens}


def _templates(brand, campaign, label: str) -> list[int]:
    import datetime as dt
    from decimal import Decimal

    from django.utils import timezone

    from promotions.models import CouponTemplate

    now = timezone.now()
    made = CouponTemplate.objects.bulk_create(
        CouponTemplate(
            brand=brand,
            campaign=campaign,
            name=f"Flash {label} {i}",
            kind="amount_off",
            amount_off=Decimal("50.00"),
            total_stock=STOCK,
            per_member_limit=1,
            valid_from=now - dt.timedelta(hours=1),
            valid_until=now + dt.timedelta(days=1),
        )
        for i in range(TEMPLATES + 1)  # the last one for the warm-up
    )
    return [t.pk for t in made]


def _wipe(brand) -> None:
    from django.db import transaction

    from members.models import Member
    from promotions.models import Campaign, Coupon, CouponTemplate, MemberClaimCount
    from retail.models import ApiClient, ApiToken, DomainEvent, IdempotencyRecord, Store

    with transaction.atomic():
        Coupon.objects.filter(brand=brand).delete()
        MemberClaimCount.objects.filter(brand=brand).delete()
        CouponTemplate.objects.filter(brand=brand).delete()
        Campaign.objects.filter(brand=brand).delete()
        DomainEvent.objects.filter(brand=brand).delete()
        clients = ApiClient.objects.filter(brand=brand)
        IdempotencyRecord.objects.filter(client__in=clients).delete()
        ApiToken.objects.filter(client__in=clients).delete()
        _delete_quietly(clients)
        Member.objects.filter(brand=brand).delete()
        Store.objects.filter(brand=brand).delete()
    _delete_quietly(type(brand).objects.filter(pk=brand.pk))


def _delete_quietly(qs) -> None:
    """Audit rows and request-log rows point at clients and brands; leave them if so."""
    from django.db import IntegrityError, transaction

    try:
        with transaction.atomic():
            qs.delete()
    except IntegrityError:
        pass


# --- one mode ------------------------------------------------------------------------------------


def _run_mode(bench: Bench, mode: str, setup: dict, template_ids: list[int]) -> dict:
    tokens, member_ids = setup["tokens"], setup["member_ids"]
    warm_template, template_ids = template_ids[-1], template_ids[:-1]
    prefix = secrets.token_hex(4)

    def ping(n: int) -> Request:
        return Request("GET", "/api/v1/ping/", headers={"Authorization": f"Bearer {tokens[n % TOKENS]}"})

    def claim_body(template_id: int, member_id: int) -> bytes:
        return json.dumps({"template": template_id, "member": member_id}).encode()

    def claim(n: int) -> Request:
        template_id = template_ids[n % TEMPLATES]
        member_id = member_ids[(n // TEMPLATES) % len(member_ids)]
        return Request(
            "POST",
            "/api/v1/coupons/claim/",
            headers={
                "Authorization": f"Bearer {tokens[n % TOKENS]}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"{prefix}-{n}",
            },
            body=claim_body(template_id, member_id),
        )

    def warm_claim(n: int) -> Request:
        return Request(
            "POST",
            "/api/v1/coupons/claim/",
            headers={
                "Authorization": f"Bearer {tokens[n % TOKENS]}",
                "Content-Type": "application/json",
                "Idempotency-Key": f"{prefix}-warm-{n}",
            },
            body=claim_body(warm_template, member_ids[n % len(member_ids)]),
        )

    env = {"COUPON_STOCK_GATE": "1" if mode == "gate" else "0"}
    print(f"  {mode}: {CLAIMS:,} claims, {CLIENTS} clients, {TEMPLATES} templates × stock {STOCK}")
    with bench.server(env=env) as server:
        drive(server, ping, label="warm-up", count=300, concurrency=CLIENTS, seconds=60)
        warm = _drive_claims(server, warm_claim, label="warm-up", count=150, concurrency=CLIENTS)
        half = BASELINE // 2
        base = drive(server, ping, label="GET /api/v1/ping/", count=half, concurrency=CLIENTS, seconds=120)
        claims = _drive_claims(
            server, claim, label="POST /api/v1/coupons/claim/", count=CLAIMS, concurrency=CLIENTS
        )
        base.merge(
            drive(server, ping, label="GET /api/v1/ping/", count=BASELINE - half, concurrency=CLIENTS,
                  seconds=120, first=half)
        )  # fmt: skip
    result = _check(template_ids, claims)
    result.update(baseline=base, claims=claims.result, warm=warm, answers=claims.answers)
    for failure in claims.result.failures:
        print(f"    {failure}")
    print(
        f"  {mode}: claims {claims.result.summary()} | ping {base.summary()} | answers {dict(claims.answers)} "
        f"| {result['check']}"
    )
    return result


class _Claims:
    def __init__(self, label: str):
        self.result = LoadResult(label)
        self.answers: Counter = Counter()
        self.created = 0


def _drive_claims(server, requests, *, label: str, count: int, concurrency: int) -> _Claims:
    """harness.drive's loop, also reading each answer's error code: 201 and 409 `sold_out`
    are correct answers in a flash sale (counted as 2xx in the LoadResult); anything else is
    recorded as the error it is."""
    return asyncio.run(_drive_claims_async(server, requests, label, count, concurrency))


async def _drive_claims_async(server, requests, label, count, concurrency) -> _Claims:
    import httpx

    out = _Claims(label)
    result = out.result
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    counter = iter(range(count))
    started = time.perf_counter()

    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=60) as client:

        async def worker() -> None:
            for n in counter:
                req = requests(n)
                t0 = time.perf_counter()
                for attempt in range(RETRIES + 1):
                    try:
                        response = await client.request(
                            req.method, req.path, headers=req.headers, content=req.body
                        )
                        status, text = response.status_code, response.text
                        break
                    except httpx.TransportError as exc:
                        # what a partner does: send it again with the same Idempotency-Key
                        status, text = 599, repr(exc)
                        if attempt < RETRIES:
                            out.answers["resent after a transport error"] += 1
                result.latencies.append(time.perf_counter() - t0)
                answer = str(status)
                if status == 409:
                    try:
                        answer = f"409 {json.loads(text)['error']['code']}"
                    except (ValueError, KeyError, TypeError):
                        pass
                out.answers[answer] += 1
                # 200: a resent claim whose first attempt had claimed (the same coupon)
                correct = status in (200, 201) or answer == "409 sold_out"
                result.statuses[200 if correct else status] += 1
                if not correct and len(result.failures) < 5:
                    result.failures.append(f"{req.method} {req.path} → {status}: {text[:300]}")

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.seconds = time.perf_counter() - started
    return out


def _check(template_ids: list[int], claims: _Claims) -> dict:
    """Oversell and consistency, from the database."""
    from django.db.models import Count

    from promotions.models import Coupon, CouponTemplate

    rows = {
        t["pk"]: t
        for t in CouponTemplate.objects.filter(pk__in=template_ids).values("pk", "total_stock", "claimed")
    }
    counts = dict(
        Coupon.objects.filter(template_id__in=template_ids)
        .values_list("template_id")
        .annotate(n=Count("id"))
        .values_list("template_id", "n")
    )
    oversold = sum(max(0, counts.get(pk, 0) - row["total_stock"]) for pk, row in rows.items())
    coupons = sum(counts.values())
    got = claims.answers.get("201", 0) + claims.answers.get("200", 0)
    problems = []
    if any(counts.get(pk, 0) != row["claimed"] for pk, row in rows.items()):
        problems.append("claimed counter != coupons")
    if coupons != got:
        problems.append(f"coupons {coupons} != claims answered 201/200 {got}")
    if claims.result.errors:
        problems.append(f"wrong answers {dict(claims.answers)}")
    sold_out = sum(1 for pk, row in rows.items() if counts.get(pk, 0) == row["total_stock"])
    check = (
        f"oversell {oversold} (DB), coupons {coupons:,} = claims answered 201/200, "
        f"{sold_out}/{len(rows)} templates sold out"
    )
    return {"oversold": oversold, "problems": problems, "check": check}
