"""The partner console: reads (selectors), its few writes, the share link and the panel registry.

HQ (hq_admin of the brand, or a superuser) manages the brand's partners (API clients):
tokens and scopes, webhook subscriptions, the delivery log, the request log and whatever
the apps above the core show about a partner (panels). The pages are retail/views_console.py.

Panels: the core never imports the apps above it, so an app registers a panel in its
AppConfig.ready() with `register_panel(key, title, provider)`; `provider(principal, client)`
returns `(template_name, context)` or None (nothing to show), and the console renders it.

Partner users (`PartnerUser`: a login bound to one API client, admin or viewer) see their
own partner's console and nothing else; HQ adds and removes them on the console (audited).
HQ can also share a signed, expiring, read-only link (`share_token`); "revoke links" bumps
the client's `share_links_version`, which every link carries, so all links die at once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncHour
from django.utils import timezone
from django.utils.translation import gettext as _

from . import audit
from .choices import API_SCOPES, AuditAction, DeliveryStatus
from .errors import Conflict, InvalidInput
from .models import (
    ApiClient,
    ApiRequestLog,
    ApiToken,
    PartnerUser,
    WebhookDelivery,
    WebhookSubscription,
)
from .services import issue_api_token
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
    """One row per partner: active tokens, active and paused subscriptions, last request,
    and the requests and error rate (4xx and 5xx) of the last 24 hours. Five queries in all."""
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
    subscriptions = {
        r["client_id"]: r
        for r in WebhookSubscription.objects.filter(client_id__in=ids, is_active=True)
        .values("client_id")
        .annotate(n=Count("pk"), paused=Count("pk", filter=Q(paused_at__isnull=False)))
    }
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
                "subscriptions": subscriptions.get(client.pk, {}).get("n", 0),
                # paused by the circuit breaker (or by a person): nothing goes out until resumed
                "paused": subscriptions.get(client.pk, {}).get("paused", 0),
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
    """A signed token naming the partner, its brand and the client's share-link version
    (valid SHARE_DAYS; dies with the client's deactivation and with `revoke_share_links`)."""
    return signing.dumps(
        {"b": client.brand_id, "p": client.pk, "v": client.share_links_version}, salt=SHARE_SALT
    )


def revoke_share_links(*, client: ApiClient) -> ApiClient:
    """Every share link handed out so far stops working at once (the version they carry is
    no longer the client's); a link made afterwards works. Audited as a permission change."""
    with transaction.atomic():
        locked = ApiClient.objects.select_for_update().get(pk=client.pk)
        locked.share_links_version += 1
        locked.save(update_fields=["share_links_version"])
        audit.record(AuditAction.PERMISSION, locked, message="console share links revoked")
    client.share_links_version = locked.share_links_version
    return locked


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
    brand_id, partner_id, version = data.get("b"), data.get("p"), data.get("v", 0)
    if not all(isinstance(v, int) for v in (brand_id, partner_id, version)):
        return None
    return (
        ApiClient.objects.filter(
            pk=partner_id, brand_id=brand_id, is_active=True, share_links_version=version
        )
        .select_related("brand")
        .first()
    )


# --- partner users ------------------------------------------------------------------------------


def partner_user_for(*, user) -> PartnerUser | None:
    """The partner login of `user` (its client may be inactive: callers refuse it then), or
    None. Read on every request of a user without a staff role, so removal stops access at
    once."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return (
        PartnerUser.objects.filter(user_id=user.pk).select_related("client", "client__brand", "user").first()
    )


def partner_users_of(*, client: ApiClient) -> list[PartnerUser]:
    """The partner's logins, oldest first."""
    return list(PartnerUser.objects.filter(client=client).select_related("user").order_by("pk"))


def add_partner_user(
    *, client: ApiClient, username: str, access: str = PartnerUser.Access.VIEWER, email: str = ""
) -> tuple[PartnerUser, str]:
    """A new login for the partner with a one-time password (returned once, never stored in
    clear). Always a new account, never a staff member's: a partner user sees its console
    and nothing else. A taken username is refused, nothing created. Audited."""
    username = (username or "").strip()
    if not username:
        raise InvalidInput("invalid", _("A username is required."), fields={"username": [_("Required.")]})
    if access not in PartnerUser.Access.values:
        raise InvalidInput("invalid", _("Choose admin or viewer."), fields={"access": [_("Not allowed.")]})
    user_model = get_user_model()
    taken = _("This username is already taken.")
    if user_model.objects.filter(username__iexact=username).exists():
        raise Conflict("duplicate_username", taken, fields={"username": [taken]})
    password = secrets.token_urlsafe(9)
    try:
        with transaction.atomic():
            user = user_model.objects.create_user(
                username=username, email=(email or "").strip(), password=password
            )
            partner_user = PartnerUser.objects.create(
                brand_id=client.brand_id, client=client, user=user, access=access
            )
            audit.record(
                AuditAction.PERMISSION,
                partner_user,
                after={"user": user.pk, "username": username, "client": client.pk, "access": access},
                message="partner user added",
            )
    except IntegrityError as exc:
        raise Conflict("duplicate_username", taken, fields={"username": [taken]}) from exc
    return partner_user, password


def remove_partner_user(*, partner_user: PartnerUser) -> None:
    """Take the login away: the row goes and the account is disabled, so the very next
    request of that user is refused (its session no longer authenticates). Audited."""
    with transaction.atomic():
        user = partner_user.user
        audit.record(
            AuditAction.PERMISSION,
            partner_user,
            before={"user": user.pk, "username": user.get_username(), "client": partner_user.client_id},
            message="partner user removed",
        )
        partner_user.delete()
        user.is_active = False
        user.set_unusable_password()
        user.save(update_fields=["is_active", "password"])


def issue_token(*, client: ApiClient, scopes=None) -> tuple[ApiToken, str]:
    """A token of the partner, shown once. `scopes`: a subset of the client's (empty: all of
    them); the client's scopes still cap it at every request. Audited."""
    wanted = clean_scopes(scopes) if scopes else []
    beyond = [s for s in wanted if s not in client.scopes]
    if beyond:
        raise InvalidInput(
            "scope_not_granted",
            _("The partner does not hold these scopes: %(s)s") % {"s": ", ".join(beyond)},
            fields={"scopes": [_("Not a scope of this partner.")]},
        )
    with transaction.atomic():
        token, raw = issue_api_token(client=client)
        if wanted:
            token.scopes = wanted
            token.save(update_fields=["scopes"])
            audit.record(
                AuditAction.PERMISSION,
                token,
                brand_id=client.brand_id,
                after={"scopes": wanted},
                message="token scopes narrowed",
            )
    return token, raw
