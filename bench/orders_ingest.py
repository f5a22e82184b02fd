"""orders_ingest: POS/ERP order ingestion through `POST /api/v1/orders/` (1–4 lines by SKU,
the member found by `member_phone`, a unique Idempotency-Key and external_id per request)
against the bare authenticated `GET /api/v1/ping/` on the same server and token."""

from __future__ import annotations

import json
import random
import secrets
import uuid

from .harness import Bench, Comparison, Request, register

MEMBERS = 5_000  # members of the bench brand (the phone lookups hit these)
HISTORY = 20_000  # orders already in the ledger before the run


@register(
    "orders_ingest",
    goal=0.5,
    about="POST /api/v1/orders/ (lines, member lookup, idempotency) vs GET /api/v1/ping/",
)
def orders_ingest(bench: Bench) -> Comparison:
    from retail import demo, services
    from retail.choices import Channel

    run_id = secrets.token_hex(3)
    spec = demo.BrandSpec(
        slug=f"bench-orders-{run_id}",
        name=f"Bench orders {run_id}",
        sku_prefix="BO",
        phone_prefix="137",
        categories=demo.FASHION.categories,
        styles=demo.FASHION.styles,
        stores=demo.FASHION.stores,
    )
    seeded = demo.seed_brand(spec, members=MEMBERS, orders=HISTORY, seed=1)
    client = services.create_api_client(
        brand=seeded.brand, name="bench", scopes=["orders:read", "orders:write"], rate_limit_per_minute=10**9
    )
    _, token = services.issue_api_token(client=client)
    auth = {"Authorization": f"Bearer {token}"}
    skus = [sku for _id, sku, _name, _cents in seeded.products]
    store_codes = [s.code for s in spec.stores]

    def ping(n: int) -> Request:
        return Request("GET", "/api/v1/ping/", headers=auth)

    def order(n: int) -> Request:
        rnd = random.Random(n)
        body = {
            "external_id": f"BENCH-{run_id}-{n:09d}",
            "channel": Channel.STORE,
            "store_code": rnd.choice(store_codes),
            "member_phone": demo.demo_phone(spec, rnd.randrange(MEMBERS)),
            "lines": [
                {"sku": sku, "quantity": rnd.choice((1, 1, 1, 2, 3))}
                for sku in rnd.sample(skus, rnd.randint(1, 4))
            ],
        }
        headers = {**auth, "Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
        return Request("POST", "/api/v1/orders/", headers=headers, body=json.dumps(body).encode())

    try:
        with bench.server() as server:
            comparison = bench.compare(
                server,
                baseline=ping,
                measured=order,
                baseline_label="GET /api/v1/ping/",
                measured_label="POST /api/v1/orders/",
            )
    finally:
        demo.wipe_brand(seeded.brand, usernames=demo.brand_usernames(spec))
    comparison.notes.append(
        f"bench brand: {MEMBERS:,} members, {HISTORY:,} orders before the run; 1–4 lines per order"
    )
    return comparison
