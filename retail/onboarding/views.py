"""Pages of the onboarding wizard (HQ or the store's manager) and HQ's list of stores in
onboarding. Thin: scope the store, check the role, call a service, render.

Another brand's store (or a store a manager does not run) is a 404; a guide gets 403."""

from __future__ import annotations

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from .. import services as retail_services
from ..choices import StoreStatus
from ..errors import DomainError
from ..forms import add_domain_errors
from . import selectors, services
from . import steps as registry
from .forms import BasicsForm, InviteForm

CUSTOM_PANELS = {"basics", "staff", "recruitment_qr", "go_live"}
RECHECK_LIMIT = 200


def _store(request, store_id: int):
    """The store, if the principal may run its wizard: 404 outside their scope, 403 for a guide."""
    principal = request.principal
    store = get_object_or_404(selectors.stores_for_onboarding(principal=principal), pk=store_id)
    if not selectors.may_onboard(principal, store):
        raise PermissionDenied
    return store


def _step_rows(views: list[services.StepView]) -> list[dict]:
    return [
        {
            "view": v,
            "key": v.key,
            "title": v.step.title,
            "done": v.done,
            "current": v.current,
            "required": v.step.required,
            "not_required": v.state.not_required,
            "time": selectors.duration(v.seconds),
            "number": i,
        }
        for i, v in enumerate(views, start=1)
    ]


def _context(request, store, views, selected: str | None = None, **extra) -> dict:
    rows = _step_rows(views)
    by_key = {r["key"]: r for r in rows}
    current = next((r["key"] for r in rows if r["current"]), rows[-1]["key"] if rows else "")
    key = selected if selected in by_key else current
    row = by_key.get(key)
    view = row["view"] if row else None
    open_required = [r for r in rows if r["required"] and not r["done"] and r["key"] != registry.GO_LIVE]
    context = {
        "store": store,
        "steps": rows,
        "selected": row,
        "state": view.state if view else None,
        "actions": view.step.actions(store) if view else [],
        "panel_template": (
            f"onboarding/steps/{key}.html" if key in CUSTOM_PANELS else "onboarding/steps/_generic.html"
        ),
        "open_required": open_required,
        "done_count": sum(1 for r in rows if r["done"]),
        "is_live": store.status == StoreStatus.LIVE,
        "nav_section": "stores",
    }
    if key == "basics":
        context["basics_form"] = extra.pop("basics_form", None) or BasicsForm(
            initial={"name": store.name, "city": store.city, "address": store.address}
        )
    if key == "staff":
        context["invite_form"] = extra.pop("invite_form", None) or InviteForm()
    if key == "recruitment_qr":
        context.update(_qr(request, store))
    context.update(extra)
    return context


def _qr(request, store) -> dict:
    token = services.join_token(store=store)
    url = request.build_absolute_uri(reverse("retail:onboarding:join", kwargs={"token": token}))
    svg = segno.make(url, error="m").svg_inline(scale=6, border=2, title=store.name)
    return {"join_url": url, "qr_svg": mark_safe(svg)}  # noqa: S308 - segno's markup, URL escaped by segno


@never_cache
@login_required
def wizard(request, store_id: int):
    """The store's wizard: a stepper with each step's status and time, the chosen step's
    checks, what is missing and its actions. Opening it starts the onboarding."""
    store = _store(request, store_id)
    views = services.refresh(store=store, user=request.user)
    return render(request, "onboarding/wizard.html", _context(request, store, views, request.GET.get("step")))


@never_cache
@login_required
@require_GET
def check(request, store_id: int):
    """htmx: re-check the store and answer the step's panel (and the stepper, out of band).
    The devices step polls this every few seconds until each device has sent a heartbeat."""
    store = _store(request, store_id)
    views = services.refresh(store=store, user=request.user)
    context = _context(request, store, views, request.GET.get("step"))
    return render(request, "onboarding/_check.html", context)


@login_required
@require_POST
def basics(request, store_id: int):
    """Complete the store's basic data (through retail.services.update_store)."""
    store = _store(request, store_id)
    form = BasicsForm(request.POST)
    if form.is_valid():
        try:
            retail_services.update_store(store=store, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("The store's basic data is saved."))
            return redirect(_wizard_url(store, "basics"))
    views = services.refresh(store=store, user=request.user)
    return render(
        request,
        "onboarding/wizard.html",
        _context(request, store, views, "basics", basics_form=form),
        status=400,
    )


@never_cache
@login_required
@require_POST
def invite(request, store_id: int):
    """Invite a store manager or guide: an account with a one-time password shown once on
    this answer (never stored in clear, never put in a message or the session)."""
    store = _store(request, store_id)
    form = InviteForm(request.POST)
    invited = None
    if form.is_valid():
        try:
            user, password = services.invite_staff(store=store, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            invited = {"user": user, "password": password, "role": form.cleaned_data["role"]}
            form = InviteForm()
    views = services.refresh(store=store, user=request.user)
    context = _context(request, store, views, "staff", invite_form=form, invited=invited)
    return render(request, "onboarding/wizard.html", context, status=200 if invited else 400)


@login_required
@require_POST
def confirm(request, store_id: int):
    """Confirm a manual step (the recruitment QR code is printed and up)."""
    store = _store(request, store_id)
    key = request.POST.get("step", "")
    try:
        services.confirm_step(store=store, key=key, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Step confirmed."))
    return redirect(_wizard_url(store, key if registry.get(key) else None))


@login_required
@require_POST
def go_live(request, store_id: int):
    """Turn the store live, or say which required steps are still open (nothing changes)."""
    store = _store(request, store_id)
    try:
        services.go_live(store=store, user=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(_wizard_url(store, registry.GO_LIVE))
    messages.success(request, _("%(store)s is live.") % {"store": store.name})
    return redirect(_wizard_url(store, registry.GO_LIVE))


@login_required
def qr(request, store_id: int):
    """The store's member-recruitment QR code alone, to print."""
    store = _store(request, store_id)
    context = {"store": store, "nav_section": "stores", **_qr(request, store)}
    return render(request, "onboarding/qr.html", context)


@never_cache
@login_required
def progress(request, store_id: int):
    """The store page's onboarding progress (loaded by htmx): steps done, time per step."""
    principal = request.principal
    store = get_object_or_404(selectors.stores_for_onboarding(principal=principal), pk=store_id)
    may = selectors.may_onboard(principal, store)
    if store.status == StoreStatus.ONBOARDING and may:
        services.refresh(store=store, user=request.user)
    store = selectors.stores_for_onboarding(principal=principal).select_related("onboarding").get(pk=store.pk)
    state = selectors.state_of(store, selectors.stored_steps(store_ids=[store.pk])[store.pk])
    for step in state["steps"]:
        step["time"] = selectors.duration(step["seconds"])
    percent = round(100 * state["done_count"] / state["total"]) if state["total"] else 0
    return render(
        request,
        "onboarding/_progress.html",
        {
            "store": store,
            "state": state,
            "percent": percent,
            "detail": _("%(done)s of %(total)s steps")
            % {"done": state["done_count"], "total": state["total"]},
            "may_onboard": may,
        },
    )


@never_cache
@login_required
def onboarding_list(request):
    """HQ: every store in onboarding, the step it is stuck on and for how long, sortable;
    a chart of stores per stuck step."""
    principal = request.principal
    if not selectors.is_hq(principal):
        raise PermissionDenied
    if principal.brand_id:
        services.start_missing_onboardings(brand_id=principal.brand_id)
    sort = request.GET.get("sort", "started")
    if sort not in selectors.SORTS:
        sort = "started"
    rows = selectors.onboarding_list(principal=principal, sort=sort)
    for row in rows:
        row["stuck"] = selectors.duration(row["stuck_seconds"])
        row["total"] = selectors.duration(row["total_seconds"])
    return render(
        request,
        "onboarding/list.html",
        {
            "rows": rows,
            "sort": sort,
            "chart": selectors.stuck_chart(rows),
            "limit": selectors.LIST_LIMIT,
            "nav_section": "stores",
        },
    )


@login_required
@require_POST
def recheck_all(request):
    """HQ: re-run the checks of the stores in onboarding (the first RECHECK_LIMIT)."""
    principal = request.principal
    if not selectors.is_hq(principal):
        raise PermissionDenied
    rows = selectors.onboarding_list(principal=principal)[:RECHECK_LIMIT]
    for row in rows:
        services.refresh(store=row["store"], user=request.user)
    messages.success(request, _("%(n)s stores re-checked.") % {"n": len(rows)})
    return redirect("retail:onboarding:list")


def _wizard_url(store, step: str | None) -> str:
    url = reverse("retail:onboarding:wizard", kwargs={"store_id": store.pk})
    return f"{url}?step={step}" if step else url
