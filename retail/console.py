"""The partner console: reads (selectors), its few writes, the share link and the panel registry.

HQ (hq_admin of the brand, or a superuser) manages the brand's partners (API clients):
tokens and scopes, webhook subscriptions, the delivery log, the request log and whatever
the apps above the core show about a partner (panels). The pages are retail/views_console.py.

Panels: the core never imports the apps above it, so an app registers a panel in its
AppConfig.ready() with `register_panel(key, title, provider)`; `provider(principal, client)`
returns `(template_name, context)` or None (nothing to show), and the console renders it.

Partner users have no login yet (the next step: a partner user model bound to an API
client); until then HQ shares a signed, expiring, read-only link (`share_token`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core import signing
from django.db import transaction
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .choices import API_SCOPES, AuditAction, DeliveryStatus
from .errors import InvalidInput
from .models import ApiClient, ApiRequestLog, ApiToken, WebhookDelivery, WebhookSubscription
from .tenancy import Principal

REQUEST_LOG_DAYS = 3  # the console's request log and chart window
ERROR_WINDOW = timedelta(hours=24)
SHARE_SALT = "retail.console.partner-share"
SHARE_DAYS = 7


# --- panels -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Panel:
    key: str
    title: object  # a lazy translation
    provider: Callable


_panels: dict[str, Panel] = {}


def register_panel(key: str, title, provider: Callable) -> None:
    """Show `provider(principal, client) -> (template_name, context) | None` on every
    partner's console (an app above the core calls this in its ready())."""
    _panels[key] = Panel(key, title, provider)


def panels() -> list[Panel]:
    return list(_panels.values())


# --- reads --------------------------------------------------------------------------------------


def partners_for(*, principal: Principal) -> QuerySet[ApiClient]:
    """The API clients (partners) the principal may manage."""
    return ApiClient.objects.for_principal(principal).select_related("brand")


def partner_overview(*, principal: Principal, now: datetime | None = None) -> list[dict]:
    """One row per partner: active tokens, active subscriptions, last request, and the
    requests and error rate (4xx and 5xx) of the last 24 hours. Five queries in all."""
    now = now or timezone.now()
    clients = list(partners_for(principal=principal).order_by("name", "pk"))
    ids = [c.pk for c in clients]
    tokens = dict(
        ApiToken.objects.filter(client_id__in=ids, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .values("client_id")
        .annotate(n=Count("pk"))
        .values_list("client_id", "n")
    )
    subscriptions = dict(
        WebhookSubscription.objects.filter(client_id__in=ids, is_active=True)
        .values("client_id")
        .annotate(n=Count("pk"))
        .values_list("client_id", "n")
    )
    last = dict(
        ApiRequestLog.objects.filter(client_id__in=ids)
        .values("client_id")
        .annotate(at=Max("at"))
        .values_list("client_id", "at")
    )
    recent = {
        r["client_id"]: r
        for r in ApiRequestLog.objects.filter(client_id__in=ids, at__gte=now - ERROR_WINDOW)
        .values("client_id")
        .annotate(total=Count("pk"), errors=Count("pk", filter=Q(status_code__gte=400)))
    }
    rows = []
    for client in clients:
        day = recent.get(client.pk, {"total": 0, "errors": 0})
        rows.append(
            {
                "client": client,
                "tokens": tokens.get(client.pk, 0),
                "subscriptions": subscriptions.get(client.pk, 0),
                "last_request": last.get(client.pk),
                "requests_24h": day["total"],
                "errors_24h": day["errors"],
                "error_rate": (100.0 * day["errors"] / day["total"]) if day["total"] else None,
            }
        )
    return rows


def tokens_of(*, client: ApiClient) -> list[ApiToken]:
    """The partner's tokens, newest first (revoked ones too: the history matters)."""
    return list(ApiToken.objects.filter(client=client).order_by("-created_at", "-pk"))


def subscriptions_of(*, client: ApiClient) -> list[WebhookSubscription]:
    """The partner's subscriptions with their open and dead delivery counts."""
    return list(
        WebhookSubscription.objects.filter(client=client)
        .annotate(
            open_count=Count(
                "deliveries",
                filter=Q(deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.RETRYING]),
            ),
            dead_count=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DEAD)),
        )
        .order_by("-is_active", "pk")
    )


def deliveries_of(
    *, client: ApiClient, status: str | None = None, subscription_id: int | None = None, limit: int = 50
) -> list[WebhookDelivery]:
    """The partner's delivery log, newest first, optionally one status (dead: the
    dead-letter list) or one subscription."""
    qs = WebhookDelivery.objects.filter(subscription__client=client).select_related("subscription")
    if status:
        qs = qs.filter(status=status)
    if subscription_id:
        qs = qs.filter(subscription_id=subscription_id)
    return list(qs.order_by("-id")[:limit])


def delivery_for(*, principal: Principal, delivery_id: int) -> WebhookDelivery | None:
    """One delivery the principal may see, with its attempts (newest first)."""
    return (
        WebhookDelivery.objects.for_principal(principal)
        .select_related("subscription", "subscription__client")
        .prefetch_related("attempt_log")
        .filter(pk=delivery_id)
        .first()
    )


def delivery_of(*, client: ApiClient, delivery_id) -> WebhookDelivery | None:
    """One delivery of the partner's own subscriptions (the shared page), with attempts."""
    try:
        delivery_id = int(delivery_id)
    except (TypeError, ValueError):
        return None
    return (
        WebhookDelivery.objects.filter(subscription__client=client, pk=delivery_id)
        .select_related("subscription")
        .prefetch_related("attempt_log")
        .first()
    )


def requests_of(
    *, client: ApiClient, days: int = REQUEST_LOG_DAYS, status_class: int | None = None, limit: int = 100
) -> list[ApiRequestLog]:
    """The partner's latest requests of the last `days`, newest first; `status_class` 2, 4
    or 5 keeps 2xx, 4xx or 5xx answers only."""
    qs = ApiRequestLog.objects.filter(client=client, at__gte=timezone.now() - timedelta(days=days))
    if status_class:
        qs = qs.filter(status_code__gte=status_class * 100, status_code__lt=(status_class + 1) * 100)
    return list(qs.order_by("-at", "-id")[:limit])


def requests_per_hour(
    *, client: ApiClient, days: int = REQUEST_LOG_DAYS, now: datetime | None = None
) -> dict:
    """Chart data: every hour of the window (local time) with its 2xx, 4xx and 5xx counts
    (other answers, 1xx and 3xx, count as 2xx: not errors)."""
    now = timezone.localtime(now or timezone.now())
    end = now.replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=days * 24 - 1)
    rows = (
        ApiRequestLog.objects.filter(client=client, at__gte=start)
        .annotate(hour=TruncHour("at", tzinfo=timezone.get_current_timezone()))
        .values("hour")
        .annotate(
            total=Count("pk"),
            c4=Count("pk", filter=Q(status_code__gte=400, status_code__lt=500)),
            c5=Count("pk", filter=Q(status_code__gte=500)),
        )
    )
    by_hour = {timezone.localtime(r["hour"]).replace(tzinfo=None): r for r in rows}
    hours, ok, c4, c5 = [], [], [], []
    for i in range(days * 24):
        hour = start + timedelta(hours=i)
        r = by_hour.get(hour.replace(tzinfo=None))
        hours.append(hour.strftime("%m-%d %H:00"))
        ok.append(r["total"] - r["c4"] - r["c5"] if r else 0)
        c4.append(r["c4"] if r else 0)
        c5.append(r["c5"] if r else 0)
    return {"hours": hours, "ok": ok, "client_errors": c4, "server_errors": c5}


# --- writes -------------------------------------------------------------------------------------


def clean_scopes(scopes) -> list[str]:
    scopes = sorted(set(scopes or []))
    unknown = [s for s in scopes if s not in API_SCOPES]
    if unknown:
        raise InvalidInput(
            "unknown_scope",
            _("Unknown scopes: %(s)s") % {"s": ", ".join(unknown)},
            fields={"scopes": [_("Not a known scope.")]},
        )
    return scopes


def update_partner(
    *, client: ApiClient, scopes=None, rate_limit_per_minute: int | None = None, is_active: bool | None = None
) -> ApiClient:
    """Change a partner's scopes, rate limit or active flag; audited as a permission
    change. Tokens read the client on every request, so a change applies at once."""
    with transaction.atomic():
        locked = ApiClient.objects.select_for_update().get(pk=client.pk)
        before = audit.snapshot(locked)
        if scopes is not None:
            locked.scopes = clean_scopes(scopes)
        if rate_limit_per_minute is not None:
            locked.rate_limit_per_minute = rate_limit_per_minute or None
        if is_active is not None:
            locked.is_active = bool(is_active)
        locked.save()
        audit.record(AuditAction.PERMISSION, locked, before=before, after=audit.snapshot(locked))
    return locked


def pause_subscription(*, subscription: WebhookSubscription, reason: str = "") -> WebhookSubscription:
    """Hold a subscription's deliveries (events keep being queued) until it is resumed
    (retail.webhooks.resume_subscription). Audited."""
    with transaction.atomic():
        locked = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
        if locked.paused_at is None:
            locked.paused_at = timezone.now()
            locked.pause_reason = (reason or "paused by HQ")[:200]
            locked.save(update_fields=["paused_at", "pause_reason", "updated_at"])
            audit.record(AuditAction.UPDATE, locked, message=f"webhook paused: {locked.pause_reason}")
    return locked


# --- the read-only share link -------------------------------------------------------------------


def share_token(*, client: ApiClient) -> str:
    """A signed token naming the partner and its brand (valid SHARE_DAYS; dies with the
    client's deactivation)."""
    return signing.dumps({"b": client.brand_id, "p": client.pk}, salt=SHARE_SALT)


def shared_partner(token: str) -> ApiClient | None:
    """The active partner a share token names; None for a bad token; raises
    signing.SignatureExpired for an expired one."""
    try:
        data = signing.loads(token or "", salt=SHARE_SALT, max_age=timedelta(days=SHARE_DAYS))
    except signing.SignatureExpired:
        raise
    except signing.BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    brand_id, partner_id = data.get("b"), data.get("p")
    if not isinstance(brand_id, int) or not isinstance(partner_id, int):
        return None
    return (
        ApiClient.objects.filter(pk=partner_id, brand_id=brand_id, is_active=True)
        .select_related("brand")
        .first()
    )
