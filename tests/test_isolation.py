"""The tenant isolation walk: every route that takes an object id, asked for brand B's object
by brand A, answers 404 and changes nothing.

The walk reads the URL resolver, so a new page or API route is tested the day it lands.
HTML pages name their ids `<model>_id`; a kwarg that `PAGE_KWARGS` does not know fails the
test, so whoever adds a route also says here which model it points at (and, if the model is
new, how to make one in `FACTORIES`). API routes take `pk`, and the model comes from the view.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from django.apps import apps
from django.db import models
from django.urls import NoReverseMatch, URLPattern, URLResolver, get_resolver, resolve, reverse

from conftest import make_partner
from devices.models import DeviceCommand
from devices.tests.factories import DeviceFactory, DeviceTypeFactory
from guides.tests.factories import (
    BroadcastFactory,
    CallPlanFactory,
    GuideProfileFactory,
    InteractionFactory,
    LivestreamFactory,
    ReassignmentBatchFactory,
    ShareContentFactory,
    ShareLinkFactory,
    TaskFactory,
)
from members.tests.factories import MemberFactory
from promotions.tests.factories import (
    BenefitFactory,
    CampaignFactory,
    CouponTemplateFactory,
    IncidentFactory,
    OfflineBlockFactory,
    RehearsalFactory,
)
from retail import audit
from retail.choices import AuditAction, Role
from retail.models import DomainEvent, OnboardingImport, PartnerUser
from retail.tests.factories import (
    OrderFactory,
    ProductFactory,
    SpaceBookingFactory,
    SpaceFactory,
    SpaceRuleFactory,
    StaffRoleFactory,
    StoreFactory,
    UserFactory,
)
from shelves.tests.factories import CatalogFactory, ScreenFactory

pytestmark = pytest.mark.django_db

# Routes nobody but a superuser (admin) or nobody in particular (static, i18n) reaches.
SKIPPED_PREFIXES = ("admin/", "static/", "media/", "i18n/", "__debug__/")

# HTML page kwarg → the model it names. Register every new `<model>_id` here.
PAGE_KWARGS: dict[str, str] = {
    "brand_id": "retail.brand",
    "store_id": "retail.store",
    "role_id": "retail.staffrole",
    "product_id": "retail.product",
    "order_id": "retail.order",
    "member_id": "members.member",
    "user_id": "auth.user",
    "event_id": "retail.auditevent",
    "client_id": "retail.apiclient",
    "segment_id": "members.segment",
    "tag_id": "members.tag",
    "import_id": "members.memberimport",
    "run_id": "members.profilerun",
    "device_id": "devices.device",
    "type_id": "devices.devicetype",
    "command_id": "devices.devicecommand",
    "catalog_id": "shelves.catalog",
    "screen_id": "shelves.screen",
    "token_id": "retail.apitoken",
    "subscription_id": "retail.webhooksubscription",
    "delivery_id": "retail.webhookdelivery",
    "campaign_id": "promotions.campaign",
    "template_id": "promotions.coupontemplate",
    "benefit_id": "promotions.benefit",
    "rehearsal_id": "promotions.rehearsal",
    "incident_id": "promotions.incident",
    "block_id": "promotions.offlineblock",
    "space_id": "retail.space",
    "rule_id": "retail.spacerule",
    "booking_id": "retail.spacebooking",
    "onboarding_import_id": "retail.onboardingimport",
    "profile_id": "guides.guideprofile",
    "plan_id": "guides.callplan",
    "task_id": "guides.task",
    "interaction_id": "guides.interaction",
    "batch_id": "guides.reassignmentbatch",
    "broadcast_id": "guides.broadcast",
    "link_id": "guides.sharelink",
    "content_id": "guides.sharecontent",
    "livestream_id": "guides.livestream",
    "notification_id": "retail.staffnotification",
    "partner_user_id": "retail.partneruser",
}

# Capability URLs: the secret in the path is the principal (a screen's kiosk token, the
# public scan code on its QR codes), and it scopes any other id in the path (a product on
# that screen). No user's scope applies; shelves/tests cover that a
# token of brand A shows and attributes nothing of brand B.
CAPABILITY_KWARGS = {"token", "code"}


def _user(brand):
    store = StoreFactory(brand=brand)
    return StaffRoleFactory(brand=brand, store=store, role=Role.GUIDE).user


def _audit_event(brand):
    store = StoreFactory(brand=brand)
    return audit.record(AuditAction.UPDATE, store, message="isolation walk")


def _api_client(brand):
    from retail import services

    return services.create_api_client(brand=brand, name="walk", scopes=["orders:read"])


def _api_token(brand):
    from retail import services

    return services.issue_api_token(client=_api_client(brand))[0]


def _segment(brand):
    from members.models import Segment

    return Segment.objects.create(brand=brand, name=f"walk {Segment.objects.count()}", rules={})


def _tag(brand):
    from members.models import Tag

    return Tag.objects.create(brand=brand, name=f"walk {Tag.objects.count()}")


def _member_import(brand):
    from members.models import MemberImport

    n = MemberImport.objects.count()
    return MemberImport.objects.create(
        brand=brand,
        file=f"member-imports/walk-{n}.csv",
        original_name="walk.csv",
        file_format="csv",
        sha256=f"{n:064d}",
    )


def _profile_run(brand):
    from members.models import ProfileRun

    return ProfileRun.objects.create(brand=brand)


def _webhook(brand):
    from retail import crypto
    from retail.models import WebhookSubscription

    return WebhookSubscription.objects.create(
        brand=brand,
        url="https://example.com/hooks",
        event_types=["order.created"],
        secret=crypto.encrypt("whsec_w"),
    )


def _webhook_delivery(brand):
    from retail.models import WebhookDelivery

    event = DomainEvent.objects.create(
        brand=brand, name="order.created", payload={}, occurred_at="2026-11-11T00:00Z"
    )
    return WebhookDelivery.objects.create(
        brand=brand, subscription=_webhook(brand), event=event, event_name=event.name
    )


def _partner_user(brand):
    from retail import console

    n = PartnerUser.objects.count()
    return console.add_partner_user(client=_api_client(brand), username=f"walk-partner-{n}")[0]


def _notification(brand):
    """A notification to the brand's first HQ admin (the walk's asking user in brand A)."""
    from retail.models import StaffNotification, StaffRole

    hq = StaffRole.objects.filter(brand=brand, role=Role.HQ_ADMIN).order_by("pk").first()
    recipient = hq.user if hq else _user(brand)
    n = StaffNotification.objects.count()
    return StaffNotification.objects.create(
        brand=brand, recipient=recipient, kind="other", message="webhook_paused", dedupe_key=f"walk-{n}"
    )


# Rows a partner owns within its brand (a partner sees only its own webhook subscriptions):
# model label → how to hand one to the partner asking in the walk.
PARTNER_OWNED: dict[str, Callable[[models.Model, object], None]] = {
    "retail.webhooksubscription": lambda obj, client: (
        type(obj).objects.filter(pk=obj.pk).update(client=client)
    ),
    "retail.webhookdelivery": lambda obj, client: (
        type(obj.subscription).objects.filter(pk=obj.subscription_id).update(client=client)
    ),
}


def give_to_asking_partner(objects: dict[str, models.Model], brand) -> None:
    from retail.models import ApiClient

    client = ApiClient.objects.filter(brand=brand).order_by("-pk").first()
    for obj in objects.values():
        own = PARTNER_OWNED.get(obj._meta.label_lower)
        if own is not None:
            own(obj, client)


# Model label → how to make one in a given brand. Register every new model here.
FACTORIES: dict[str, Callable[[object], models.Model]] = {
    "retail.brand": lambda brand: brand,
    "retail.store": lambda brand: StoreFactory(brand=brand),
    "retail.staffrole": lambda brand: StaffRoleFactory(
        brand=brand, store=StoreFactory(brand=brand), role=Role.STORE_MANAGER
    ),
    "retail.product": lambda brand: ProductFactory(brand=brand),
    "retail.order": lambda brand: OrderFactory(brand=brand),
    "members.member": lambda brand: MemberFactory(brand=brand, store=StoreFactory(brand=brand)),
    "auth.user": _user,
    "retail.auditevent": _audit_event,
    "retail.apiclient": _api_client,
    "members.segment": _segment,
    "members.tag": _tag,
    "members.memberimport": _member_import,
    "members.profilerun": _profile_run,
    "devices.device": lambda brand: DeviceFactory(brand=brand),
    "devices.devicetype": lambda brand: DeviceTypeFactory(brand=brand),
    "devices.devicecommand": lambda brand: DeviceCommand.objects.create(
        brand=brand, device=DeviceFactory(brand=brand), name="dispense"
    ),
    "retail.webhooksubscription": lambda brand: _webhook(brand),
    "retail.webhookdelivery": lambda brand: _webhook_delivery(brand),
    "retail.apitoken": lambda brand: _api_token(brand),
    "shelves.catalog": lambda brand: CatalogFactory(brand=brand),
    "shelves.screen": lambda brand: ScreenFactory(brand=brand),
    "promotions.campaign": lambda brand: CampaignFactory(brand=brand),
    "promotions.coupontemplate": lambda brand: CouponTemplateFactory(brand=brand),
    "promotions.benefit": lambda brand: BenefitFactory(brand=brand),
    "promotions.rehearsal": lambda brand: RehearsalFactory(brand=brand),
    "promotions.incident": lambda brand: IncidentFactory(brand=brand),
    "promotions.offlineblock": lambda brand: OfflineBlockFactory(brand=brand),
    "retail.space": lambda brand: SpaceFactory(brand=brand),
    "retail.spacerule": lambda brand: SpaceRuleFactory(brand=brand),
    "retail.spacebooking": lambda brand: SpaceBookingFactory(brand=brand),
    "retail.onboardingimport": lambda brand: OnboardingImport.objects.create(
        brand=brand, file_name="stores.csv", content="code,name\n"
    ),
    "guides.guideprofile": lambda brand: GuideProfileFactory(brand=brand),
    "guides.callplan": lambda brand: CallPlanFactory(brand=brand),
    "guides.task": lambda brand: TaskFactory(brand=brand),
    "guides.interaction": lambda brand: InteractionFactory(brand=brand),
    "guides.reassignmentbatch": lambda brand: ReassignmentBatchFactory(brand=brand),
    "guides.broadcast": lambda brand: BroadcastFactory(brand=brand),
    "guides.sharelink": lambda brand: ShareLinkFactory(brand=brand),
    "guides.sharecontent": lambda brand: ShareContentFactory(brand=brand),
    "guides.livestream": lambda brand: LivestreamFactory(brand=brand),
    "retail.staffnotification": lambda brand: _notification(brand),
    "retail.partneruser": _partner_user,
}


@dataclass
class Route:
    """One URL pattern at the end of the resolver tree."""

    path: str  # the pattern as written, for messages
    callback: Callable
    name: str | None  # namespaced, for reverse()
    kwargs: list[str] = field(default_factory=list)
    default_kwargs: dict = field(default_factory=dict)

    @property
    def is_api(self) -> bool:
        return self.path.startswith("api/")

    @property
    def view_class(self):
        return getattr(self.callback, "cls", None) or getattr(self.callback, "view_class", None)

    def url(self, values: dict[str, object]) -> str:
        """The URL with the given kwargs, by name where the route has one."""
        if self.name:
            try:
                return reverse(self.name, kwargs=values)
            except NoReverseMatch:
                pass
        url = self.path
        for key, value in values.items():
            url = _substitute(url, key, str(value))
        url = "/" + url.replace("^", "").replace("$", "").replace("\\", "")
        return url


def _substitute(pattern: str, key: str, value: str) -> str:
    name = re.escape(key)
    pattern = re.sub(rf"<(?:\w+:)?{name}>", value, pattern)
    return re.sub(rf"\(\?P<{name}>[^)]*\)", value, pattern)


def _pattern_kwargs(pattern) -> list[str]:
    regex = pattern.regex
    return list(regex.groupindex)


def walk(resolver: URLResolver | None = None, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    """Every URLPattern under the resolver, with its full path and namespaced name."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        here = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = namespace
            if entry.namespace:
                ns = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from (
                Route(
                    path=r.path,
                    callback=r.callback,
                    name=r.name,
                    kwargs=_pattern_kwargs(entry.pattern) + r.kwargs,
                    default_kwargs={**entry.default_kwargs, **r.default_kwargs},
                )
                for r in walk(entry, here, ns)
            )
        elif isinstance(entry, URLPattern):
            name = None
            if entry.name:
                name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield Route(
                path=here,
                callback=entry.callback,
                name=name,
                kwargs=_pattern_kwargs(entry.pattern),
                default_kwargs=dict(entry.default_args),
            )


def object_routes() -> list[Route]:
    """Routes that take an object id, admin, static and i18n left out."""
    routes = []
    for route in walk():
        if route.path.startswith(SKIPPED_PREFIXES) or not route.kwargs:
            continue
        if route.kwargs == ["format"]:  # DRF format suffixes: not an object id
            continue
        if set(route.kwargs) & CAPABILITY_KWARGS:  # the token scopes the rest of the path
            continue
        routes.append(route)
    return routes


def api_model(route: Route) -> str | None:
    """The model an API route's `pk` points at, read from its view."""
    cls = route.view_class
    initkwargs = getattr(route.callback, "initkwargs", {}) or {}
    queryset = initkwargs.get("queryset", getattr(cls, "queryset", None))
    if queryset is not None:
        return queryset.model._meta.label_lower
    model = initkwargs.get("model", getattr(cls, "model", None))
    return model._meta.label_lower if model is not None else None


def api_methods(route: Route) -> list[str]:
    actions = getattr(route.callback, "actions", None)
    if actions:
        methods = list(actions)
    else:
        cls = route.view_class
        methods = [m for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)]
    return [m for m in methods if m not in ("head", "options", "trace")]


def models_for(route: Route) -> dict[str, str]:
    """kwarg → model label for every kwarg of the route; raises for an unknown kwarg."""
    result = {}
    for kwarg in route.kwargs:
        if route.is_api and kwarg == "pk":
            label = api_model(route)
            if label is None:
                raise LookupError(f"{route.path}: cannot tell the model of `pk` from {route.view_class}")
        elif kwarg in PAGE_KWARGS:
            label = PAGE_KWARGS[kwarg]
        else:
            raise LookupError(
                f"{route.path}: kwarg `{kwarg}` is not registered in tests/test_isolation.py PAGE_KWARGS"
            )
        if label not in FACTORIES:
            raise LookupError(f"{route.path}: no factory for {label} in tests/test_isolation.py FACTORIES")
        result[kwarg] = label
    return result


def row(obj: models.Model) -> dict:
    return type(obj)._base_manager.filter(pk=obj.pk).values().get()


def make_objects(route: Route, brand) -> dict[str, models.Model]:
    return {kwarg: FACTORIES[label](brand) for kwarg, label in models_for(route).items()}


def assert_api_404(response, what: str) -> None:
    assert response.status_code == 404, f"{what}: {response.status_code} {response.content[:300]!r}"
    body = response.json()
    assert set(body) == {"error"}, what
    assert set(body["error"]) == {"code", "message", "fields"}, what
    assert body["error"]["code"] == "not_found", what


# --- the walk finds what it must ----------------------------------------------------------------


def test_the_walk_finds_the_core_api_detail_routes():
    found = {api_model(r) for r in object_routes() if r.is_api and "pk" in r.kwargs}
    assert {"retail.store", "retail.product", "retail.order", "members.member"} <= found


def test_every_object_route_has_a_known_model():
    problems = []
    for route in object_routes():
        try:
            models_for(route)
        except LookupError as exc:
            problems.append(str(exc))
    assert not problems, "\n".join(problems)


def test_every_registered_model_label_exists():
    for label in {*PAGE_KWARGS.values(), *FACTORIES}:
        apps.get_model(label)  # raises LookupError for a typo


# --- the walk itself ----------------------------------------------------------------------------


def _ids(routes: list[Route]) -> list[str]:
    return [r.path for r in routes]


API_ROUTES = [r for r in object_routes() if r.is_api]
PAGE_ROUTES = [r for r in object_routes() if not r.is_api]


@pytest.mark.parametrize("route", API_ROUTES, ids=_ids(API_ROUTES))
def test_api_route_hides_another_brands_object(route, brand, other_brand):
    # given an object of brand B and a token of brand A holding every scope
    theirs = make_objects(route, other_brand)
    ours = make_objects(route, brand)
    partner = make_partner(brand)
    give_to_asking_partner(ours, brand)
    before = {k: row(o) for k, o in theirs.items()}
    events_before = DomainEvent.objects.filter(brand=other_brand).count()
    values = {k: o.pk for k, o in theirs.items()}
    url = route.url(values)
    assert resolve(url).func is route.callback, f"{route.path}: built {url} resolves elsewhere"
    # when brand A asks for it with every method the route takes
    for method in api_methods(route):
        response = getattr(partner, method)(url, {}, format="json")
        # then it is a 404 in the error shape, exactly as for an id that never existed
        assert_api_404(response, f"{method.upper()} {url}")
    # and brand B's object did not change
    assert {k: row(o) for k, o in theirs.items()} == before
    assert DomainEvent.objects.filter(brand=other_brand).count() == events_before
    # control: brand A's own object is there, so the 404 above is about the brand
    if "get" in api_methods(route):
        own = partner.get(route.url({k: o.pk for k, o in ours.items()}))
        assert own.status_code == 200, f"GET own object at {route.path}: {own.status_code}"


@pytest.mark.parametrize("route", PAGE_ROUTES, ids=_ids(PAGE_ROUTES))
def test_page_hides_another_brands_object(route, client, brand, other_brand, hq_user):
    # given an object of brand B and an HQ admin of brand A, logged in
    theirs = make_objects(route, other_brand)
    ours = make_objects(route, brand)
    client.force_login(hq_user)
    before = {k: row(o) for k, o in theirs.items()}
    events_before = DomainEvent.objects.filter(brand=other_brand).count()
    url = route.url({k: o.pk for k, o in theirs.items()})
    assert resolve(url).func is route.callback, f"{route.path}: built {url} resolves elsewhere"
    # when they open it, and post to it
    statuses = {}
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        statuses[method] = response.status_code
        # then it is a 404; a 405 says nothing about the object (the method is refused first)
        assert response.status_code in (404, 405), f"{method.upper()} {url}: {response.status_code}"
    assert 404 in statuses.values(), f"{url}: {statuses}"
    # and nothing of brand B changed
    assert {k: row(o) for k, o in theirs.items()} == before
    assert DomainEvent.objects.filter(brand=other_brand).count() == events_before
    # control: the same page for brand A's own object is not a 404
    own_url = route.url({k: o.pk for k, o in ours.items()})
    if statuses["get"] == 404:
        own = client.get(own_url)
        assert own.status_code == 200, f"GET own object at {own_url}: {own.status_code}"


def test_user_pages_take_users_of_the_brand_only(client, brand, hq_user):
    """A user id is not tenant-owned; a user with no role in brand A is a 404 for brand A."""
    routes = [r for r in PAGE_ROUTES if "user_id" in r.kwargs]
    if not routes:
        pytest.skip("no page takes a user_id yet")
    stranger = UserFactory(username="no-role")
    client.force_login(hq_user)
    for route in routes:
        values = {k: stranger.pk if k == "user_id" else None for k in route.kwargs}
        if None in values.values():
            continue
        assert client.get(route.url(values)).status_code == 404, route.path


def _store_bound(route: Route) -> bool:
    """Every object the route names hangs off a store (a manager sees only theirs)."""
    try:
        labels = models_for(route).values()
    except LookupError:
        return False
    return bool(labels) and all(
        getattr(apps.get_model(label), "TENANT_STORE_FIELD", None) for label in labels
    )


STORE_ROUTES = [r for r in PAGE_ROUTES if _store_bound(r)]


@pytest.mark.parametrize("route", STORE_ROUTES, ids=_ids(STORE_ROUTES))
def test_page_hides_another_stores_object_from_a_store_manager(route, client, brand, store, manager_user):
    # given an object of another store of the same brand (each factory makes its own store)
    theirs = make_objects(route, brand)
    for obj in theirs.values():
        store_field = type(obj).TENANT_STORE_FIELD
        value = obj.pk if store_field == "pk" else getattr(obj, f"{store_field}_id", None)
        assert value != store.pk, f"{route.path}: the factory put the object in the manager's store"
    client.force_login(manager_user)
    before = {k: row(o) for k, o in theirs.items()}
    url = route.url({k: o.pk for k, o in theirs.items()})
    # when the manager of `store` opens it, then it is a 404
    response = client.get(url)
    assert response.status_code in (404, 405), f"GET {url} as store manager: {response.status_code}"
    assert {k: row(o) for k, o in theirs.items()} == before


# --- a partner user walks every page ----------------------------------------------------------

# A partner user's own console: these answer 200 to a GET naming its own partner's objects.
PARTNER_CONSOLE_READS = {
    "retail:partner_console",
    "retail:partner_deliveries",
    "retail:partner_requests",
    "retail:delivery_detail",
}
PARTNER_CONSOLE_WRITES = {
    "retail:token_issue",
    "retail:token_revoke",
    "retail:subscription_create",
    "retail:subscription_action",
    "retail:delivery_redeliver",
}
# Not staff pages: liveness, health, and the share link (404 without its signed token).
PUBLIC_PAGES = {"alive", "health", "retail:partner_shared"}
# One's own account, whoever one is: the password (retail/tests/test_password_change.py).
OWN_ACCOUNT_PAGES = {"password_change"}


def _page_routes_for_the_partner_walk() -> list[Route]:
    routes = []
    for route in walk():
        if route.is_api or route.path.startswith(SKIPPED_PREFIXES):
            continue
        if set(route.kwargs) & CAPABILITY_KWARGS:
            continue
        routes.append(route)
    return routes


def _owned_by(objects: dict[str, models.Model], client) -> dict[str, object]:
    """The route's kwargs, with the partner-owned ones pointing at `client`'s rows."""
    from retail.models import ApiToken

    values = {}
    for kwarg, obj in objects.items():
        if kwarg == "client_id":
            values[kwarg] = client.pk
            continue
        if isinstance(obj, ApiToken):
            ApiToken.objects.filter(pk=obj.pk).update(client=client)
        own = PARTNER_OWNED.get(obj._meta.label_lower)
        if own is not None:
            own(obj, client)
        values[kwarg] = obj.pk
    return values


def test_a_partner_user_walks_every_page_and_only_its_console_answers(client, brand, other_brand, hq_user):
    """A partner user (a login bound to one partner) opens every page route of the site with
    objects of its own brand: only its own console's pages answer 200; every staff page is a
    403 (or a redirect, or a 404/405), and nothing it posts to changes a staff object."""
    from retail import console, services

    # given a partner user (admin) of brand A's partner, logged in
    partner = services.create_api_client(brand=brand, name="Walker", scopes=["orders:read"])
    partner_user, _ = console.add_partner_user(client=partner, username="walker", access="admin")
    client.force_login(partner_user.user)
    answered_200, problems = [], []
    for route in _page_routes_for_the_partner_walk():
        try:
            objects = make_objects(route, brand)
        except LookupError:
            continue  # an unregistered kwarg: test_every_object_route_has_a_known_model says so
        url = route.url(_owned_by(objects, partner))
        before = {k: row(o) for k, o in objects.items() if not k.endswith(("subscription_id", "delivery_id"))}
        # when it opens the page
        response = client.get(url)
        if response.status_code == 200:
            answered_200.append(route.name)
        if route.name in PARTNER_CONSOLE_READS:
            if response.status_code != 200:
                problems.append(f"GET {url} (own console): {response.status_code}")
            continue
        if route.name in OWN_ACCOUNT_PAGES:
            if response.status_code != 200:
                problems.append(f"GET {url} (own account): {response.status_code}")
            continue
        if route.name in PUBLIC_PAGES:
            continue
        # then anything else is refused, or sends it to log in or to its console
        if response.status_code == 302:
            where = response["Location"]
            if not (where.startswith(("/accounts/login/", "/partner")) or where == "/"):
                problems.append(f"GET {url}: redirected to {where}")
        elif response.status_code not in (403, 404, 405):
            problems.append(f"GET {url}: {response.status_code}")
        if route.name in PARTNER_CONSOLE_WRITES or route.name == "logout":
            continue  # its console's writes: retail/tests/test_partner_users.py; logout ends the walk
        posted = client.post(url)
        if posted.status_code not in (302, 403, 404, 405):
            problems.append(f"POST {url}: {posted.status_code}")
        if {k: row(o) for k, o in objects.items() if k in before} != before:
            problems.append(f"POST {url} changed {sorted(objects)}")
    assert not problems, "\n".join(problems)
    assert set(answered_200) - PUBLIC_PAGES - OWN_ACCOUNT_PAGES == PARTNER_CONSOLE_READS
    # and another partner's console, of its brand or another, is not found
    sibling = services.create_api_client(brand=brand, name="Sibling", scopes=[])
    theirs = services.create_api_client(brand=other_brand, name="Theirs", scopes=[])
    for other in (sibling, theirs):
        for name in ("partner_console", "partner_deliveries", "partner_requests"):
            url = reverse(f"retail:{name}", kwargs={"client_id": other.pk})
            assert client.get(url).status_code == 404, url
