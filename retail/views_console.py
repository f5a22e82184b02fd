"""The partner console (HQ): partners (API clients), their tokens and scopes, webhook
subscriptions, delivery log, request log and the panels of the apps above the core.

Routes (retail/page_urls.py, namespace "retail"):
- `/partners/` — the brand's partners; POST creates one.
- `/partners/<client_id>/` — one partner's console, in sections. Every write is an htmx POST
  answered with its re-rendered section (without htmx: the whole page).
- `/partners/shared/?t=<signed>` — the same console, read-only, for the partner (no login
  yet): a signed link that expires after retail.console.SHARE_DAYS and dies with the client.

Only HQ (hq_admin, or a superuser) manages partners: a store manager or guide gets 403,
another brand's partner is a 404. Thin: forms validate, retail.console / retail.services /
retail.webhooks do the work (audited there).
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from . import console, events, requestlog, services, webhooks
from .choices import API_SCOPES, DeliveryStatus, Role
from .errors import DomainError
from .forms import ListedModelChoiceField
from .jobs import enqueue_job
from .models import ApiClient, ApiToken, WebhookSubscription
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


def _hq(request) -> Principal:
    """HQ of a brand, or a superuser; anyone else is refused (403)."""
    principal = request.principal
    if principal.role == Role.HQ_ADMIN or (principal.is_superuser and principal.role is None):
        return principal
    raise PermissionDenied


def _partner(principal: Principal, client_id: int) -> ApiClient:
    return get_object_or_404(console.partners_for(principal=principal), pk=client_id)


# --- sections -----------------------------------------------------------------------------------


def _section_context(request, client, section: str, read_only: bool = False, **extra) -> dict:
    context = {"client": client, "read_only": read_only, "now": timezone.now(), **extra}
    if section == "tokens":
        context["tokens"] = console.tokens_of(client=client)
        context.setdefault(
            "scopes_form",
            ScopesForm(
                initial={"scopes": client.scopes, "rate_limit_per_minute": client.rate_limit_per_minute}
            ),
        )
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
    return context


SECTIONS = ["tokens", "subscriptions", "deliveries", "requests"]


def _console_context(request, principal, client, read_only: bool = False, **extra) -> dict:
    context = {"client": client, "read_only": read_only, "sections": SECTIONS, "now": timezone.now()}
    for section in SECTIONS:
        context.update(_section_context(request, client, section, read_only=read_only))
    context.update(extra)
    context["panels"] = _panels(principal, client)
    if not read_only:
        token = console.share_token(client=client)
        context["share_url"] = request.build_absolute_uri(f"{reverse('retail:partner_shared')}?t={token}")
        context["share_days"] = console.SHARE_DAYS
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


def _answer(request, principal, client, section: str, status: int = 200, **extra):
    """An htmx write gets its section back; a plain form post gets the whole page."""
    if request.htmx:
        context = _section_context(request, client, section, **extra)
        return render(request, f"retail/console/_{section}.html", context, status=status)
    context = _console_context(request, principal, client)
    context.update(_section_context(request, client, section, **extra))
    return render(request, "retail/console/partner.html", context, status=status)


# --- pages --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def partner_list(request):
    """The brand's partners with their figures; HQ creates one here."""
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
    return render(
        request,
        "retail/console/partner_list.html",
        {"rows": rows, "form": form, "nav_section": "partners"},
        status=status,
    )


@login_required
@require_GET
def partner_console(request, client_id: int):
    principal = _hq(request)
    client = _partner(principal, client_id)
    context = _console_context(request, principal, client)
    context["nav_section"] = "partners"
    return render(request, "retail/console/partner.html", context)


@never_cache
@login_required
@require_POST
def partner_scopes(request, client_id: int):
    """Change the partner's scopes and rate limit (a permission change, audited)."""
    principal = _hq(request)
    client = _partner(principal, client_id)
    form = ScopesForm(request.POST)
    if form.is_valid():
        try:
            client = console.update_partner(
                client=client,
                scopes=form.cleaned_data["scopes"],
                rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"] or 0,
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            return _answer(request, principal, client, "tokens", notice=_("Scopes saved."))
    return _answer(
        request, principal, client, "tokens", status=200 if request.htmx else 422, scopes_form=form
    )


@never_cache
@login_required
@require_POST
def token_issue(request, client_id: int):
    """A new token, shown this once."""
    principal = _hq(request)
    client = _partner(principal, client_id)
    token, raw = services.issue_api_token(client=client)
    return _answer(request, principal, client, "tokens", new_token=raw, new_token_id=token.pk)


@never_cache
@login_required
@require_POST
def token_revoke(request, token_id: int):
    """Revoke a token: the API refuses it from the next request on."""
    principal = _hq(request)
    token = get_object_or_404(ApiToken.objects.for_principal(principal).select_related("client"), pk=token_id)
    if token.revoked_at is None:
        services.revoke_api_token(token=token)
    return _answer(
        request, principal, token.client, "tokens", notice=_("Token %(p)s… revoked.") % {"p": token.prefix}
    )


@never_cache
@login_required
@require_POST
def subscription_create(request, client_id: int):
    """Subscribe the partner's endpoint to event types; the signing secret is shown once."""
    principal = _hq(request)
    client = _partner(principal, client_id)
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
                request, principal, client, "subscriptions", new_secret=secret, new_secret_for=subscription.pk
            )
    return _answer(
        request,
        principal,
        client,
        "subscriptions",
        status=200 if request.htmx else 422,
        subscription_form=form,
    )


SUBSCRIPTION_OPS = {"rotate", "pause", "resume", "replay", "deactivate", "activate"}


@never_cache
@login_required
@require_POST
def subscription_action(request, subscription_id: int):
    """One of: rotate the secret (shown once), pause, resume (closes the breaker), replay
    the dead letters, deactivate or activate."""
    principal = _hq(request)
    subscription = get_object_or_404(
        WebhookSubscription.objects.for_principal(principal)
        .filter(client__isnull=False)
        .select_related("client"),
        pk=subscription_id,
    )
    client = subscription.client
    op = request.POST.get("op", "")
    if op not in SUBSCRIPTION_OPS:
        return _answer(request, principal, client, "subscriptions", status=400, notice=_("Unknown action."))
    extra = {}
    if op == "rotate":
        extra = {
            "new_secret": webhooks.rotate_secret(subscription=subscription),
            "new_secret_for": subscription.pk,
        }
        extra["notice"] = _("New secret issued; the old one keeps signing during the overlap.")
    elif op == "pause":
        console.pause_subscription(subscription=subscription, reason=_("paused by HQ"))
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
    return _answer(request, principal, client, "subscriptions", **extra)


@login_required
@require_GET
def partner_deliveries(request, client_id: int):
    """The delivery log section (filtered by status or subscription)."""
    principal = _hq(request)
    client = _partner(principal, client_id)
    return render(request, "retail/console/_deliveries.html", _section_context(request, client, "deliveries"))


@login_required
@require_GET
def delivery_detail(request, delivery_id: int):
    """One delivery's attempts: when, status code, response time, error."""
    principal = _hq(request)
    delivery = console.delivery_for(principal=principal, delivery_id=delivery_id)
    if delivery is None:
        raise Http404
    return render(
        request,
        "retail/console/_delivery.html",
        {"delivery": delivery, "read_only": False, "show_attempts": True},
    )


@never_cache
@login_required
@require_POST
def delivery_redeliver(request, delivery_id: int):
    """Send one delivery again (same event id), off the request path."""
    from .tasks import redeliver_webhook_task

    principal = _hq(request)
    delivery = console.delivery_for(principal=principal, delivery_id=delivery_id)
    if delivery is None:
        raise Http404
    enqueue_job(redeliver_webhook_task, delivery.pk)
    return render(
        request,
        "retail/console/_delivery.html",
        {"delivery": delivery, "read_only": False, "show_attempts": True, "notice": _("Redelivery queued.")},
    )


@login_required
@require_GET
def partner_requests(request, client_id: int):
    """The request log section (filtered by answer class)."""
    principal = _hq(request)
    client = _partner(principal, client_id)
    return render(request, "retail/console/_requests.html", _section_context(request, client, "requests"))


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
    token = request.GET.get("t", "")
    section = request.GET.get("section")
    if request.htmx and section in ("deliveries", "requests"):  # the read-only page's own filters
        context = _section_context(request, client, section, read_only=True, share_token=token)
        return _shared_response(render(request, f"retail/console/_{section}.html", context))
    if request.htmx and section == "delivery":  # one delivery's attempts
        delivery = console.delivery_of(client=client, delivery_id=request.GET.get("delivery"))
        if delivery is None:
            raise Http404
        context = {"delivery": delivery, "read_only": True, "show_attempts": True, "share_token": token}
        return _shared_response(render(request, "retail/console/_delivery.html", context))
    context = _console_context(request, principal_for_api_client(client), client, read_only=True)
    context["share_token"] = token
    return _shared_response(render(request, "retail/console/partner.html", context))


def _shared_response(response):
    response["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    response["X-Robots-Tag"] = "noindex"
    return response
