"""The partner console: partners (API clients), their tokens and scopes, webhook
subscriptions, delivery log, request log, partner users and the panels of the apps above
the core. One set of views and templates, three ways in (the scope switch is `Access`):

- HQ (hq_admin of the brand, or a role-less superuser): every partner of the brand, every
  button, plus scopes, partner users and the share link.
- a partner user (retail.models.PartnerUser): its own partner's console only; admins issue
  tokens (a subset of the partner's scopes) and manage its webhooks, viewers only look.
  Every other page answers 403 (`partner_user_gate`, called by the principal middleware).
- the signed share link: the same console, read-only, no login, no secrets.

Routes (retail/page_urls.py, namespace "retail"):
- `/partners/` — the brand's partners (HQ); POST creates one.
- `/partner/` — a partner user's way in: redirects to its own console.
- `/partners/<client_id>/` — one partner's console, in sections. Every write is an htmx POST
  answered with its re-rendered section (without htmx: the whole page).
- `/partners/shared/?t=<signed>` — the read-only console through HQ's link (expires after
  retail.console.SHARE_DAYS, dies with the client and with "revoke links").

A store manager or guide gets 403; another brand's partner, or another partner for a
partner user, is a 404. Thin: forms validate, retail.console / retail.services /
retail.webhooks do the work (audited there).
"""

from __future__ import annotations

from dataclasses import dataclass

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import console, events, requestlog, services, webhooks
from .choices import API_SCOPES, DeliveryStatus, Role
from .errors import DomainError
from .forms import ListedModelChoiceField, add_domain_errors
from .jobs import enqueue_job
from .models import ApiClient, ApiToken, PartnerUser, WebhookDelivery, WebhookSubscription
from .tenancy import Principal, principal_for_api_client

# --- forms --------------------------------------------------------------------------------------


def _scope_choices():
    return [(key, f"{key} · {label}") for key, label in API_SCOPES.items()]


class PartnerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("Scopes"),
        choices=_scope_choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    rate_limit_per_minute = forms.IntegerField(
        label=gettext_lazy("Rate limit per minute"),
        min_value=1,
        max_value=1_000_000,
        required=False,
        help_text=gettext_lazy("Empty: the platform default."),
    )


class ScopesForm(forms.Form):
    scopes = PartnerForm.base_fields["scopes"]
    rate_limit_per_minute = PartnerForm.base_fields["rate_limit_per_minute"]


class TokenForm(forms.Form):
    """A new token: a subset of the partner's scopes, or (none ticked) all of them."""

    scopes = forms.MultipleChoiceField(
        label=gettext_lazy("Scopes of the new token"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=gettext_lazy("None ticked: every scope of the partner."),
    )

    def __init__(self, *args, client: ApiClient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(s, f"{s} · {API_SCOPES.get(s, '')}") for s in client.scopes]


class PartnerUserForm(forms.Form):
    """A login for a person of the partner, with a one-time password shown once."""

    username = forms.RegexField(
        label=gettext_lazy("Username"),
        max_length=150,
        regex=r"^[\w.@+-]+\Z",
        error_messages={"invalid": gettext_lazy("Letters, digits and @/./+/-/_ only.")},
    )
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    access = forms.ChoiceField(
        label=gettext_lazy("Access"), choices=PartnerUser.Access.choices, initial=PartnerUser.Access.VIEWER
    )


def _event_choices():
    return [(name, name) for name in sorted(events.CATALOGUE)]


class SubscriptionForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Endpoint URL"),
        max_length=500,
        widget=forms.URLInput(attrs={"placeholder": "https://partner.example.com/hooks"}),
    )
    event_types = forms.MultipleChoiceField(
        label=gettext_lazy("Event types"), choices=_event_choices, widget=forms.CheckboxSelectMultiple
    )
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    subscription = ListedModelChoiceField(
        label=gettext_lazy("Subscription"), queryset=None, required=False, empty_label=gettext_lazy("All")
    )

    def __init__(self, *args, client: ApiClient, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", _("All")), *DeliveryStatus.choices]
        self.fields["subscription"].queryset = WebhookSubscription.objects.filter(client=client).order_by(
            "pk"
        )


class RequestFilterForm(forms.Form):
    status = forms.TypedChoiceField(
        label=gettext_lazy("Answers"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", gettext_lazy("All")), (2, "2xx"), (4, "4xx"), (5, "5xx")],
    )


# --- who may look -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Access:
    """Who looks at a partner's console and what they may do there."""

    client: ApiClient
    principal: Principal  # the panels' reads: HQ's own, or the partner's as the API sees it
    hq: bool = False  # scopes, partner users, share links
    manage: bool = False  # tokens, subscriptions, redeliveries
    read_only: bool = False  # the share link: no buttons, no filters of the logged-in pages


def _partner_user(request) -> PartnerUser | None:
    """The request's partner login (read once per request), for a user without a staff role."""
    if not hasattr(request, "_partner_user"):
        user = getattr(request, "user", None)
        found = None
        # a superuser is never a partner's login: no need to read the roles (the admin's pages)
        if user is not None and not user.is_superuser and request.principal.role is None:
            found = console.partner_user_for(user=user)
        request._partner_user = found
    return request._partner_user


def _is_hq(principal: Principal) -> bool:
    return principal.role == Role.HQ_ADMIN or (principal.is_superuser and principal.role is None)


def _hq(request) -> Principal:
    """HQ of a brand, or a superuser; anyone else is refused (403)."""
    principal = request.principal
    if _is_hq(principal):
        return principal
    raise PermissionDenied


def _access(request, client_id: int) -> Access:
    """HQ for one of its brand's partners, or a partner user for its own partner (another
    is a 404); anyone else 403."""
    principal = request.principal
    if _is_hq(principal):
        client = get_object_or_404(console.partners_for(principal=principal), pk=client_id)
        return Access(client=client, principal=principal, hq=True, manage=True)
    partner_user = _partner_user(request)
    if partner_user is None or not partner_user.client.is_active:
        raise PermissionDenied
    if partner_user.client_id != client_id:
        raise Http404
    client = partner_user.client
    return Access(
        client=client,
        principal=principal_for_api_client(client),
        manage=partner_user.access == PartnerUser.Access.ADMIN,
    )


def _hq_access(request, client_id: int) -> Access:
    access = _access(request, client_id)
    if not access.hq:
        raise PermissionDenied
    return access


def _manager_access(request, client_id: int) -> Access:
    access = _access(request, client_id)
    if not access.manage:
        raise PermissionDenied
    return access


def _visible(request, queryset: QuerySet, client_field: str) -> QuerySet:
    """`queryset` cut to what the asker may see: HQ's brand, or the partner user's client."""
    principal = request.principal
    if _is_hq(principal):
        return queryset.for_principal(principal)
    partner_user = _partner_user(request)
    if partner_user is None or not partner_user.client.is_active:
        raise PermissionDenied
    return queryset.filter(**{client_field: partner_user.client_id})


# Route names a partner user may open; everything else answers 403 for them.
PARTNER_USER_ROUTES = frozenset(
    {
        "retail:home",
        "retail:partner_home",
        "retail:partner_console",
        "retail:token_issue",
        "retail:token_revoke",
        "retail:subscription_create",
        "retail:subscription_action",
        "retail:partner_deliveries",
        "retail:delivery_detail",
        "retail:delivery_redeliver",
        "retail:partner_requests",
        "retail:partner_shared",
        "login",
        "logout",
        "password_change",
        "set_language",
        "alive",
        "health",
    }
)


def partner_user_gate(request) -> None:
    """Called for every logged-in request (retail.middleware.PrincipalMiddleware): a partner
    user reaches its own console and nothing else (403), whatever a page itself checks.
    The API is left alone: it authenticates bearer tokens, never the session."""
    if request.path_info.startswith("/api/"):
        return
    if _partner_user(request) is None:
        return
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return  # Django answers 404
    if match.view_name not in PARTNER_USER_ROUTES:
        raise PermissionDenied


# --- sections -----------------------------------------------------------------------------------


def _section_context(request, access: Access, section: str, **extra) -> dict:
    client = access.client
    context = {
        "client": client,
        "read_only": access.read_only,
        "can_manage": access.manage and not access.read_only,
        "is_hq": access.hq,
        "now": timezone.now(),
        **extra,
    }
    if section == "tokens":
        context["tokens"] = console.tokens_of(client=client)
        if access.hq:
            context.setdefault(
                "scopes_form",
                ScopesForm(
                    initial={"scopes": client.scopes, "rate_limit_per_minute": client.rate_limit_per_minute}
                ),
            )
        if context["can_manage"]:
            context.setdefault("token_form", TokenForm(client=client))
        context["scope_labels"] = [(s, API_SCOPES.get(s, "")) for s in client.scopes]
    elif section == "subscriptions":
        context["subscriptions"] = console.subscriptions_of(client=client)
        context.setdefault("subscription_form", SubscriptionForm())
    elif section == "deliveries":
        form = DeliveryFilterForm(request.GET or None, client=client)
        status, subscription_id = None, None
        if form.is_bound and form.is_valid():
            status = form.cleaned_data["status"] or None
            subscription_id = (
                form.cleaned_data["subscription"].pk if form.cleaned_data["subscription"] else None
            )
        context["delivery_form"] = form
        context["deliveries"] = console.deliveries_of(
            client=client, status=status, subscription_id=subscription_id
        )
    elif section == "requests":
        requestlog.flush()  # this process's buffered rows, so the page is current
        form = RequestFilterForm(request.GET or None)
        status_class = form.cleaned_data["status"] if form.is_bound and form.is_valid() else None
        context["request_form"] = form
        context["requests"] = console.requests_of(client=client, status_class=status_class)
        context["chart"] = console.requests_per_hour(client=client)
        context["log_days"] = console.REQUEST_LOG_DAYS
    elif section == "users":
        context["partner_users"] = console.partner_users_of(client=client)
        context.setdefault("user_form", PartnerUserForm())
        token = console.share_token(client=client)
        context["share_url"] = request.build_absolute_uri(f"{reverse('retail:partner_shared')}?t={token}")
        context["share_days"] = console.SHARE_DAYS
    return context


SECTIONS = ["tokens", "subscriptions", "deliveries", "requests"]


def _console_context(request, access: Access, **extra) -> dict:
    context = {
        "client": access.client,
        "read_only": access.read_only,
        "can_manage": access.manage and not access.read_only,
        "is_hq": access.hq,
        "sections": SECTIONS,
        "now": timezone.now(),
    }
    for section in [*SECTIONS, "users"] if access.hq else SECTIONS:
        context.update(_section_context(request, access, section))
    context.update(extra)
    context["panels"] = _panels(access.principal, access.client)
    return context


def _panels(principal, client) -> list[dict]:
    from django.template.loader import render_to_string

    shown = []
    for panel in console.panels():
        found = panel.provider(principal, client)
        if found:
            template, context = found
            shown.append(
                {"key": panel.key, "title": panel.title, "html": render_to_string(template, context)}
            )
    return shown


def _answer(request, access: Access, section: str, status: int = 200, **extra):
    """An htmx write gets its section back; a plain form post gets the whole page."""
    if request.htmx:
        context = _section_context(request, access, section, **extra)
        return render(request, f"retail/console/_{section}.html", context, status=status)
    context = _console_context(request, access)
    context.update(_section_context(request, access, section, **extra))
    return render(request, "retail/console/partner.html", context, status=status)


# --- pages --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def partner_list(request):
    """The brand's partners with their figures and paused subscriptions; HQ creates one here."""
    principal = _hq(request)
    can_create = principal.brand_id is not None
    form = PartnerForm(request.POST or None) if can_create else None
    status = 200
    if request.method == "POST":
        if not can_create:
            raise PermissionDenied
        if form.is_valid():
            try:
                client = services.create_api_client(brand=principal.brand_id, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(
                    request, _("Partner %(name)s created. Issue a token next.") % {"name": client.name}
                )
                return redirect("retail:partner_console", client_id=client.pk)
        status = 422
    requestlog.flush()
    rows = console.partner_overview(principal=principal)
    paused = [row for row in rows if row["paused"]]
    return render(
        request,
        "retail/console/partner_list.html",
        {
            "rows": rows,
            "paused_rows": paused,
            "paused_total": sum(row["paused"] for row in paused),
            "form": form,
            "nav_section": "partners",
        },
        status=status,
    )


@login_required
@require_GET
def partner_home(request):
    """A partner user's way in (where the login lands them): their own console."""
    partner_user = _partner_user(request)
    if partner_user is not None:
        return redirect("retail:partner_console", client_id=partner_user.client_id)
    _hq(request)
    return redirect("retail:partner_list")


@login_required
@require_GET
def partner_console(request, client_id: int):
    access = _access(request, client_id)
    context = _console_context(request, access)
    context["nav_section"] = "partners"
    return render(request, "retail/console/partner.html", context)


@never_cache
@login_required
@require_POST
def partner_scopes(request, client_id: int):
    """Change the partner's scopes and rate limit (HQ; a permission change, audited)."""
    access = _hq_access(request, client_id)
    form = ScopesForm(request.POST)
    if form.is_valid():
        try:
            client = console.update_partner(
                client=access.client,
                scopes=form.cleaned_data["scopes"],
                rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"] or 0,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            access = Access(client=client, principal=access.principal, hq=True, manage=True)
            return _answer(request, access, "tokens", notice=_("Scopes saved."))
    return _answer(request, access, "tokens", status=200 if request.htmx else 422, scopes_form=form)


@never_cache
@login_required
@require_POST
def token_issue(request, client_id: int):
    """A new token (all the partner's scopes, or a subset), shown this once."""
    access = _manager_access(request, client_id)
    form = TokenForm(request.POST, client=access.client)
    if form.is_valid():
        try:
            token, raw = console.issue_token(client=access.client, scopes=form.cleaned_data["scopes"])
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            return _answer(request, access, "tokens", new_token=raw, new_token_id=token.pk)
    return _answer(request, access, "tokens", status=200 if request.htmx else 422, token_form=form)


@never_cache
@login_required
@require_POST
def token_revoke(request, token_id: int):
    """Revoke a token: the API refuses it from the next request on."""
    token = get_object_or_404(
        _visible(request, ApiToken.objects.select_related("client"), "client_id"), pk=token_id
    )
    access = _manager_access(request, token.client_id)
    if token.revoked_at is None:
        services.revoke_api_token(token=token)
    return _answer(request, access, "tokens", notice=_("Token %(p)s… revoked.") % {"p": token.prefix})


@never_cache
@login_required
@require_POST
def subscription_create(request, client_id: int):
    """Subscribe the partner's endpoint to event types; the signing secret is shown once."""
    access = _manager_access(request, client_id)
    client = access.client
    form = SubscriptionForm(request.POST)
    if form.is_valid():
        try:
            subscription, secret = webhooks.create_subscription(
                brand_id=client.brand_id, client=client, **form.cleaned_data
            )
        except DomainError as exc:
            for field, errors in (getattr(exc, "fields", None) or {}).items():
                for error in errors:
                    form.add_error(field if field in form.fields else None, error)
            if not getattr(exc, "fields", None):
                form.add_error(None, str(exc))
        else:
            return _answer(
                request, access, "subscriptions", new_secret=secret, new_secret_for=subscription.pk
            )
    return _answer(
        request, access, "subscriptions", status=200 if request.htmx else 422, subscription_form=form
    )


SUBSCRIPTION_OPS = {"rotate", "pause", "resume", "replay", "deactivate", "activate"}


@never_cache
@login_required
@require_POST
def subscription_action(request, subscription_id: int):
    """One of: rotate the secret (shown once), pause, resume (closes the breaker), replay
    the dead letters, deactivate or activate."""
    subscription = get_object_or_404(
        _visible(
            request,
            WebhookSubscription.objects.filter(client__isnull=False).select_related("client"),
            "client_id",
        ),
        pk=subscription_id,
    )
    access = _manager_access(request, subscription.client_id)
    op = request.POST.get("op", "")
    if op not in SUBSCRIPTION_OPS:
        return _answer(request, access, "subscriptions", status=400, notice=_("Unknown action."))
    extra = {}
    if op == "rotate":
        extra = {
            "new_secret": webhooks.rotate_secret(subscription=subscription),
            "new_secret_for": subscription.pk,
        }
        extra["notice"] = _("New secret issued; the old one keeps signing during the overlap.")
    elif op == "pause":
        reason = _("paused by HQ") if access.hq else _("paused by the partner")
        console.pause_subscription(subscription=subscription, reason=reason)
        extra["notice"] = _("Paused: events are kept and sent on resume.")
    elif op == "resume":
        webhooks.resume_subscription(subscription=subscription)
        extra["notice"] = _("Resumed: the queued deliveries go out in order.")
    elif op == "replay":
        count = webhooks.replay_dead(subscription=subscription)
        extra["notice"] = _("%(n)s dead deliveries queued again.") % {"n": count}
    else:
        webhooks.update_subscription(subscription=subscription, is_active=op == "activate")
        extra["notice"] = _("Subscription activated.") if op == "activate" else _("Subscription deactivated.")
    return _answer(request, access, "subscriptions", **extra)


@login_required
@require_GET
def partner_deliveries(request, client_id: int):
    """The delivery log section (filtered by status or subscription)."""
    access = _access(request, client_id)
    return render(request, "retail/console/_deliveries.html", _section_context(request, access, "deliveries"))


def _delivery(request, delivery_id: int) -> tuple[Access, WebhookDelivery]:
    """A delivery with its attempts: any of the brand's for HQ (HQ's own subscriptions too),
    the partner's own for a partner user."""
    principal = request.principal
    if _is_hq(principal):
        found = console.delivery_for(principal=principal, delivery_id=delivery_id)
        if found is None:
            raise Http404
        return Access(client=found.subscription.client, principal=principal, hq=True, manage=True), found
    partner_user = _partner_user(request)
    if partner_user is None or not partner_user.client.is_active:
        raise PermissionDenied
    found = console.delivery_of(client=partner_user.client, delivery_id=delivery_id)
    if found is None:
        raise Http404
    return _access(request, partner_user.client_id), found


@login_required
@require_GET
def delivery_detail(request, delivery_id: int):
    """One delivery's attempts: when, status code, response time, error."""
    access, delivery = _delivery(request, delivery_id)
    return render(
        request,
        "retail/console/_delivery.html",
        {"delivery": delivery, "read_only": False, "can_manage": access.manage, "show_attempts": True},
    )


@never_cache
@login_required
@require_POST
def delivery_redeliver(request, delivery_id: int):
    """Send one delivery again (same event id), off the request path."""
    from .tasks import redeliver_webhook_task

    access, delivery = _delivery(request, delivery_id)
    if not access.manage:
        raise PermissionDenied
    enqueue_job(redeliver_webhook_task, delivery.pk)
    return render(
        request,
        "retail/console/_delivery.html",
        {
            "delivery": delivery,
            "read_only": False,
            "can_manage": True,
            "show_attempts": True,
            "notice": _("Redelivery queued."),
        },
    )


@login_required
@require_GET
def partner_requests(request, client_id: int):
    """The request log section (filtered by answer class)."""
    access = _access(request, client_id)
    return render(request, "retail/console/_requests.html", _section_context(request, access, "requests"))


@never_cache
@login_required
@require_POST
def partner_user_add(request, client_id: int):
    """HQ gives a person of the partner a login (one-time password shown once; audited)."""
    access = _hq_access(request, client_id)
    form = PartnerUserForm(request.POST)
    if form.is_valid():
        try:
            partner_user, password = console.add_partner_user(client=access.client, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            return _answer(
                request,
                access,
                "users",
                new_login={"username": partner_user.user.get_username(), "password": password},
            )
    return _answer(request, access, "users", status=200 if request.htmx else 422, user_form=form)


@never_cache
@login_required
@require_POST
def partner_user_remove(request, partner_user_id: int):
    """HQ takes a partner user's login away; their next request is refused (audited)."""
    principal = _hq(request)
    partner_user = get_object_or_404(
        PartnerUser.objects.for_principal(principal).select_related("user", "client"), pk=partner_user_id
    )
    access = _hq_access(request, partner_user.client_id)
    name = partner_user.user.get_username()
    console.remove_partner_user(partner_user=partner_user)
    return _answer(request, access, "users", notice=_("%(name)s can no longer log in.") % {"name": name})


@never_cache
@login_required
@require_POST
def share_links_revoke(request, client_id: int):
    """HQ revokes every share link of the partner handed out so far (audited)."""
    access = _hq_access(request, client_id)
    console.revoke_share_links(client=access.client)
    return _answer(
        request, access, "users", notice=_("Every earlier share link is revoked. The link below is new.")
    )


@never_cache
@require_GET
def partner_shared(request):
    """The partner's own console, read-only, through HQ's signed link (no login)."""
    try:
        client = console.shared_partner(request.GET.get("t", ""))
    except signing.SignatureExpired:
        return render(request, "retail/console/shared_expired.html", status=410)
    if client is None:
        raise Http404
    access = Access(client=client, principal=principal_for_api_client(client), read_only=True)
    token = request.GET.get("t", "")
    section = request.GET.get("section")
    if request.htmx and section in ("deliveries", "requests"):  # the read-only page's own filters
        context = _section_context(request, access, section, share_token=token)
        return _shared_response(render(request, f"retail/console/_{section}.html", context))
    if request.htmx and section == "delivery":  # one delivery's attempts
        delivery = console.delivery_of(client=client, delivery_id=request.GET.get("delivery"))
        if delivery is None:
            raise Http404
        context = {"delivery": delivery, "read_only": True, "show_attempts": True, "share_token": token}
        return _shared_response(render(request, "retail/console/_delivery.html", context))
    context = _console_context(request, access)
    context["share_token"] = token
    return _shared_response(render(request, "retail/console/partner.html", context))


def _shared_response(response):
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response["X-Robots-Tag"] = "noindex"
    return response
