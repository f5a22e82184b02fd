"""The partner API against a fuzzer: schemathesis, over every operation of the live OpenAPI
schema, with a token holding every scope and a brand seeded with one of every resource the
API exposes (store, product, stock, member, tag, segment, order, campaign, coupon template and
coupon, device and its command, guide, task, interaction, catalog, screen, space, webhook
subscription and delivery).

For each operation (one test each):

1. a valid request with the seeded ids (VALID_REQUESTS) must answer 2xx, and its body must
   match the schema: every operation gets at least one checked 2xx, not only 404s;
2. then EXAMPLES generated requests (valid and invalid bodies, parameters and headers) with
   the seeded ids in the path and in body references most of the time (a generated id the
   rest of the time, so 404s are fuzzed too). No answer may be a 5xx, and every answer must
   match the schema: the status code documented for that operation (an undocumented 409,
   say, fails), the body shape, the content type.

Deterministic (derandomized) so CI runs the same cases each time; FUZZ_EXAMPLES raises the
number of cases per operation for a longer local hunt:

    FUZZ_EXAMPLES=200 .venv/bin/pytest tests/test_api_fuzz.py -n 2

Everything runs in this one module (xdist's `--dist loadfile` keeps it on one worker, in
order): the last test checks that every operation got its checked 2xx.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid
from collections import Counter
from decimal import Decimal

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import checks

from retail.tests.factories import OrderFactory, ProductFactory, SpaceFactory, StoreFactory, api_token

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "30"))

schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
OPERATIONS = [result.ok() for result in schema.get_all_operations()]

# Every check but "a schema-valid request must be accepted": a well-formed request for an id
# that does not exist, or against a business rule, is rightly a 4xx. The status code check
# (status_code_conformance) is on: an undocumented status fails.
EXCLUDED = [checks.positive_data_acceptance]

# Operations that cannot answer 2xx to the fuzzer's token, with the reason (none today: the
# device's own events go with the seeded device's credential).
NO_2XX: dict[str, str] = {}

# operation id -> how many 2xx answers had their body checked against the schema
CHECKED_2XX: Counter[str] = Counter()
RAN: set[str] = set()  # the operations whose test ran in this process


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """The WSGI handler closes "old" connections around each request; inside the test's
    transaction that must not happen (Django's own test client does the same)."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def seed(brand) -> dict:
    """One of each resource the API exposes, in the token's brand; their ids by name."""
    from devices.models import DeviceCommand
    from devices.tests.factories import DeviceFactory
    from guides.tests.factories import InteractionFactory, SegmentFactory, TaskFactory, guide_in
    from members.services import segments as segment_services
    from members.tests.factories import MemberFactory
    from promotions.services import coupons as coupon_services
    from promotions.tests.factories import (
        CampaignFactory,
        CouponTemplateFactory,
        PublishedCampaignFactory,
        phases,
    )
    from retail import services, webhooks
    from retail.models import ApiClient, DomainEvent, WebhookDelivery
    from shelves.tests.factories import CatalogFactory, ScreenFactory

    raw = api_token(brand, rate_limit_per_minute=1_000_000)  # the fuzzer is no abuser
    api_client = ApiClient.objects.get(brand=brand)
    store = StoreFactory(brand=brand)
    product = ProductFactory(brand=brand, price=Decimal("99.00"))
    services.set_store_stock(store=store, quantities={product: 5})
    guide = guide_in(store)
    member = MemberFactory(brand=brand, store=store, guide=guide)
    tag = segment_services.create_tag(brand_id=brand.pk, name="fuzz-vip")
    segment_services.tag_member(member=member, name=tag.name)
    segment = SegmentFactory(brand=brand)
    order = OrderFactory(brand=brand, store=store)
    draft = CampaignFactory(brand=brand, stores=[store])
    live = PublishedCampaignFactory(brand=brand, stores=[store])
    phases(live, timezone.now() - dt.timedelta(hours=1))
    template = CouponTemplateFactory(brand=brand, campaign=live, per_member_limit=10, total_stock=1000)
    coupon = coupon_services.claim_coupon(template=template, member=member).coupon
    device = DeviceFactory(brand=brand, store=store)
    command = DeviceCommand.objects.create(brand=brand, device=device, name="dispense", payload={})
    task = TaskFactory(brand=brand, store=store, guide=guide, member=member)
    interaction = InteractionFactory(brand=brand, store=store, guide=guide, member=member)
    catalog = CatalogFactory(brand=brand)
    screen = ScreenFactory(brand=brand, store=store, day_catalog=catalog)
    space = SpaceFactory(brand=brand, store=store)
    subscription, _secret = webhooks.create_subscription(
        brand_id=brand.pk, client=api_client, url="https://hooks.example.com/t", event_types=["order.*"]
    )
    event = DomainEvent.objects.create(
        brand=brand, name="order.created", store_id=store.pk, payload={}, occurred_at=timezone.now()
    )
    delivery = WebhookDelivery.objects.create(
        brand=brand, subscription=subscription, event=event, event_name=event.name
    )
    return {
        "token": raw,
        "device_credential": device.credential,
        "store": store.pk,
        "store_code": store.code,
        "product": product.pk,
        "member": member.pk,
        "tag": tag.pk,
        "segment": segment.pk,
        "order": order.pk,
        "campaign": draft.pk,
        "template": template.pk,
        "coupon": coupon.code,
        "device": device.pk,
        "command": command.pk,
        "guide": guide.pk,
        "task": task.pk,
        "interaction": interaction.pk,
        "catalog": catalog.pk,
        "screen": screen.pk,
        "space": space.pk,
        "webhook": subscription.pk,
        "delivery": delivery.pk,
    }


# The resource of each path's `{id}` (by the path's first segment) and of other parameters.
PATH_IDS = {
    "campaigns": "campaign",
    "coupon-templates": "template",
    "devices": "device",
    "guide-interactions": "interaction",
    "guide-tasks": "task",
    "members": "member",
    "onboarding": "store",
    "orders": "order",
    "products": "product",
    "segments": "segment",
    "shelf-catalogs": "catalog",
    "shelf-screens": "screen",
    "spaces": "space",
    "stores": "store",
    "webhook-deliveries": "delivery",
    "webhooks": "webhook",
}
OTHER_PARAMETERS = {"code": "coupon", "command_id": "command"}

# Body fields that reference another row, and whose seeded id they take.
BODY_REFERENCES = {
    "store": "store",
    "product": "product",
    "member": "member",
    "guide": "guide",
    "task": "task",
    "template": "template",
    "day_catalog": "catalog",
    "night_catalog": "catalog",
    "double11_catalog": "catalog",
    "stores": "store",
}


def path_parameters(path: str, ids: dict) -> dict:
    resource = path.removeprefix("/api/v1/").split("/")[0]
    found = {}
    if "{id}" in path:
        if resource not in PATH_IDS:
            raise LookupError(f"{path}: seed a {resource} in seed() and name it in PATH_IDS")
        found["id"] = ids[PATH_IDS[resource]]
    for name, key in OTHER_PARAMETERS.items():
        if "{" + name + "}" in path:
            found[name] = ids[key]
    unknown = set(re.findall(r"\{(\w+)\}", path)) - {"id", *OTHER_PARAMETERS}
    if unknown:
        raise LookupError(f"{path}: name the seeded row of {sorted(unknown)} in OTHER_PARAMETERS")
    return found


def valid_request(operation_id: str, ids: dict) -> dict:
    """The body (and headers) of a request each operation accepts, with the seeded ids."""
    now = timezone.now()
    n = uuid.uuid4().hex[:8]
    bodies = {
        "campaigns_create": {"name": f"Fuzz {n}", "stores": [ids["store"]]},
        "campaigns_partial_update": {"description": "Seeded by the fuzzer"},
        "coupons_claim_create": {"template": ids["template"], "member": ids["member"]},
        "coupons_redeem_create": {"store": ids["store"], "subtotal": "199.00"},
        "devices_events_create": {
            "events": [{"seq": 1, "occurred_at": now.isoformat(), "type": "heartbeat", "payload": {}}]
        },
        "guide_interactions_create": {"member": ids["member"], "guide": ids["guide"], "kind": "call"},
        "guide_tasks_partial_update": {"status": "done"},
        "members_create": {"phone": f"1370{int(n, 16) % 10**7:07d}", "name": "Fuzz"},
        "members_partial_update": {"consent_sms": False},
        "members_consent_create": {"channel": "sms", "granted": True},
        "members_points_create": {"kind": "adjust", "points": 10, "reason": "fuzz"},
        "members_tags_create": {"add": ["fuzz-new"]},
        "orders_create": {
            "external_id": f"FUZZ-{n}",
            "channel": "store",
            "store": ids["store"],
            "lines": [{"product": ids["product"], "quantity": 1}],
        },
        "products_create": {"sku": f"FZ-{n}", "name": "Fuzz", "price": "9.90"},
        "products_partial_update": {"name": "Fuzz renamed"},
        "shelf_catalogs_create": {"name": f"Fuzz {n}", "items": [{"product": ids["product"]}]},
        "shelf_catalogs_partial_update": {"headline": "Fuzzed"},
        "shelf_screens_create": {"store": ids["store"], "name": f"Fuzz {n}", "day_catalog": ids["catalog"]},
        "shelf_screens_partial_update": {"zone": "entrance"},
        "spaces_occupancy_create": {"people": 2},
        "stores_create": {"code": f"FZ{n}", "name": "Fuzz store"},
        "stores_partial_update": {"city": "Hangzhou"},
        "stores_stock_create": {"items": [{"product": ids["product"], "quantity": 3}]},
        "tags_create": {"name": f"fuzz-{n}"},
        "webhooks_create": {"url": "https://hooks.example.com/new", "event_types": ["member.*"]},
        "webhooks_partial_update": {"description": "fuzzed"},
    }
    request = {}
    if operation_id in bodies:
        request["body"] = bodies[operation_id]
        request["media_type"] = "application/json"
    return request


def auth_headers(operation, ids: dict) -> dict:
    # a device's events come with its own credential (a partner token is refused: 403)
    if operation.definition.raw.get("operationId") == "devices_events_create":
        return {"Authorization": f"Bearer {ids['device_credential']}"}
    return {"Authorization": f"Bearer {ids['token']}"}


def with_real_references(value, ids: dict, key: str | None = None):
    """Generated ids in body references become the seeded ones, 4 times in 5 (decided by
    the generated value itself, so a replayed example is the same request)."""
    if isinstance(value, dict):
        return {k: with_real_references(v, ids, k) for k, v in value.items()}
    if isinstance(value, list):
        return [with_real_references(v, ids, key) for v in value]
    if key in BODY_REFERENCES and type(value) is int and value % 5:
        return ids[BODY_REFERENCES[key]]
    return value


@pytest.fixture(scope="module")
def ids(django_db_setup, django_db_blocker):
    """The seed, made once for the module in a transaction rolled back at its end; each
    test runs in a savepoint inside it (pytest-django's), so each starts from the seed."""
    from django.db import transaction
    from django.test import override_settings

    from retail.tests.factories import BrandFactory

    with django_db_blocker.unblock(), transaction.atomic():
        with override_settings(WEBHOOK_ALLOW_PRIVATE_URLS=True):
            seeded = seed(BrandFactory(name="Fuzz brand", slug="fuzz-brand"))
        yield seeded
        transaction.set_rollback(True)


@pytest.fixture(autouse=True)
def _no_dns(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_URLS = True  # no DNS lookups of generated webhook hosts


def _label(operation) -> str:
    return operation.definition.raw.get("operationId", operation.label)


@pytest.mark.django_db
@pytest.mark.parametrize("operation", OPERATIONS, ids=_label)
def test_every_operation_answers_a_valid_request_and_survives_the_fuzzer(operation, ids):
    operation_id = _label(operation)
    RAN.add(operation_id)
    headers = auth_headers(operation, ids)
    real_path = path_parameters(operation.path, ids)

    # 1. a valid request with the seeded ids: 2xx, its body checked against the schema
    if operation_id not in NO_2XX:
        case = operation.Case(path_parameters=real_path, query={}, **valid_request(operation_id, ids))
        response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
        assert 200 <= response.status_code < 300, (operation_id, response.status_code, response.text[:500])
        CHECKED_2XX[operation_id] += 1

    # 2. generated requests, with the seeded ids most of the time
    @given(case=operation.as_strategy())
    @hypothesis_settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case):
        for name, value in list((case.path_parameters or {}).items()):
            if type(value) is int and value % 5 or (name == "code" and len(str(value)) % 5):
                case.path_parameters[name] = real_path[name]
        if isinstance(case.body, dict | list):
            case.body = with_real_references(case.body, ids)
        response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED)
        if 200 <= response.status_code < 300:
            CHECKED_2XX[operation_id] += 1

    fuzz()


def test_every_operation_got_a_2xx_whose_body_was_checked():
    """Run last (file order; one xdist worker has the whole module)."""
    every = {_label(operation) for operation in OPERATIONS}
    if RAN != every:
        pytest.skip("not every operation's test ran in this process (some were selected out)")
    missing = every - set(CHECKED_2XX) - set(NO_2XX)
    assert not missing, f"operations without a checked 2xx: {sorted(missing)}"
    assert not set(NO_2XX) - every, "NO_2XX names an operation the schema does not have"
