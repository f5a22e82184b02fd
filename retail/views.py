"""HTML pages of the core. Thin: pick the principal's data through selectors, render."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from members.selectors import members_for

from . import audit, console, selectors
from .choices import AuditAction, Role
from .forms import AuditFilterForm, OrderFilterForm, ProductSearchForm
from .tenancy import Principal


@never_cache
def alive(request):
    """Liveness: the process answers, nothing else is asked (a bare Django view; the
    benchmarks' baseline). Readiness, with the database and the cache, is /healthz."""
    return HttpResponse("ok", content_type="text/plain")


def health(request):
    """Liveness and readiness: the database and the cache answer."""
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # report, do not raise: this is the health page
        checks["database"] = f"error: {exc.__class__.__name__}"
    try:
        cache.set("healthz", "1", 5)
        checks["cache"] = "ok" if cache.get("healthz") == "1" else "error"
    except Exception as exc:
        checks["cache"] = f"error: {exc.__class__.__name__}"
    ok = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ok" if ok else "degraded", **checks}, status=200 if ok else 503)


# --- pages ---------------------------------------------------------------------------------

HOME_BY_ROLE = {
    Role.HQ_ADMIN: "retail:hq_home",
    Role.STORE_MANAGER: "retail:store_home",
    Role.GUIDE: "guides:workbench",
}


def _require_role(request, *roles: str, superuser: bool = False) -> Principal:
    """The principal, if it acts in one of `roles` (or is a role-less superuser); else 403."""
    principal = request.principal
    if principal.role in roles or (superuser and principal.is_superuser):
        return principal
    raise PermissionDenied


def _audit_principal(request) -> Principal:
    # The audit trail is HQ's; for anyone else it does not exist (404, not 403).
    principal = request.principal
    if principal.role == Role.HQ_ADMIN or principal.is_superuser:
        return principal
    raise Http404


@login_required
def home(request):
    """Send each role to its own home; superusers without a role to the admin."""
    principal = request.principal
    if principal.role in HOME_BY_ROLE:
        return redirect(HOME_BY_ROLE[principal.role])
    if principal.is_superuser:
        return redirect("admin:index")
    if console.partner_user_for(user=request.user) is not None:  # a partner's login
        return redirect("retail:partner_home")
    return render(request, "retail/no_role.html")


class PasswordChange(auth_views.PasswordChangeView):
    """Anyone logged in changes their own password (Django's form: the old one, the new one
    twice, the validators); the session stays logged in. A partner user handed a one-time
    password by HQ does this first. Audited under the brand acted for."""

    template_name = "registration/password_change_form.html"
    success_url = reverse_lazy("retail:home")

    def form_valid(self, form):
        response = super().form_valid(form)
        partner = console.partner_user_for(user=self.request.user)
        brand_id = partner.brand_id if partner is not None else self.request.principal.brand_id
        audit.record(AuditAction.PERMISSION, self.request.user, brand_id=brand_id, message="password changed")
        messages.success(self.request, _("Your password was changed."))
        return response


@login_required
@require_POST
def role_switch(request):
    """Act in another of one's own roles from now on (kept in the session)."""
    try:
        role_id = int(request.POST.get("role_id", ""))
    except ValueError:
        raise Http404
    if not any(role.pk == role_id for role in selectors.roles_for_user(user=request.user)):
        raise Http404
    request.session["active_role_id"] = role_id
    return redirect("retail:home")


@login_required
def hq_home(request):
    """HQ's brand overview: 30-day KPIs, daily chart, store ranking."""
    principal = _require_role(request, Role.HQ_ADMIN, superuser=True)
    kpis = selectors.brand_kpis(principal=principal, days=30)
    return render(
        request,
        "retail/hq_home.html",
        {
            "kpis": kpis,
            "chart": kpis["days"],
            "ranking": selectors.sales_by_store(principal=principal, days=30),
        },
    )


@login_required
def store_home(request):
    """A store manager's day: each managed store's orders and GMV today, latest orders, staff."""
    principal = _require_role(request, Role.STORE_MANAGER)
    staff = selectors.staff_by_store(principal=principal)
    stores = [
        {**row, "staff": staff.get(row["store"].pk, [])}
        for row in selectors.stores_today(principal=principal)
    ]
    return render(
        request,
        "retail/store_home.html",
        {"stores": stores, "latest_orders": selectors.latest_orders(principal=principal, limit=10)},
    )


@login_required
def guide_home(request):
    """A guide's workbench home: their store, their members, their month."""
    principal = _require_role(request, Role.GUIDE)
    store = selectors.stores_for(principal=principal).first()
    members = members_for(principal=principal).order_by("-joined_at", "-id")
    return render(
        request,
        "retail/guide_home.html",
        {
            "store": store,
            "members": members[:50],
            "member_count": members.count(),
            "month": selectors.guide_month(principal=principal),
        },
    )


@login_required
def store_list(request):
    """The stores the principal may see."""
    stores = selectors.store_list(principal=request.principal)
    page = selectors.page_of(stores, page=request.GET.get("page"), per_page=50)
    return render(request, "retail/store_list.html", {"page": page})


@login_required
def store_detail(request, store_id: int):
    """One store: details, staff, recent orders and its 30-day chart."""
    principal = request.principal
    store = get_object_or_404(selectors.stores_for(principal=principal), pk=store_id)
    summary = selectors.sales_summary(principal=principal, days=30, store_id=store.pk)
    return render(
        request,
        "retail/store_detail.html",
        {
            "store": store,
            "summary": summary,
            "chart": summary["days"],
            "staff": selectors.staff_for_store(principal=principal, store=store),
            "latest_orders": selectors.latest_orders(principal=principal, limit=10, store_id=store.pk),
        },
    )


@login_required
def product_list(request):
    """The catalog with a live search (htmx swaps the rows); 50 per page."""
    form = ProductSearchForm(request.GET)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    products = selectors.product_search(principal=request.principal, q=q)
    context = {
        "form": form,
        "q": q,
        "page": selectors.page_of(products, page=request.GET.get("page")),
        "query": _query_without_page(request),
    }
    if request.htmx and request.htmx.target == "product-rows":
        return render(request, "retail/_product_rows.html", context)
    return render(request, "retail/product_list.html", context)


@login_required
def product_detail(request, product_id: int):
    """One product and how it sold in the principal's stores over 30 days."""
    principal = request.principal
    product = get_object_or_404(selectors.products_for(principal=principal), pk=product_id)
    return render(
        request,
        "retail/product_detail.html",
        {"product": product, "sales": selectors.product_sales(principal=principal, product=product)},
    )


@login_required
def order_list(request):
    """The sales ledger, filtered by store, channel and day; 50 per page."""
    principal = request.principal
    form = OrderFilterForm(request.GET or None, principal=principal)
    orders = selectors.order_search(principal=principal, **form.filters())
    return render(
        request,
        "retail/order_list.html",
        {
            "form": form,
            "page": selectors.page_of(orders, page=request.GET.get("page")),
            "query": _query_without_page(request),
        },
    )


@login_required
def order_detail(request, order_id: int):
    """One order: lines, the member (masked), the guide."""
    order = get_object_or_404(selectors.order_detail(principal=request.principal), pk=order_id)
    return render(request, "retail/order_detail.html", {"order": order})


@login_required
def audit_list(request):
    """The brand's audit trail, filtered by object (type + id) and by actor. HQ only."""
    principal = _audit_principal(request)
    form = AuditFilterForm(request.GET or None, principal=principal)
    events = selectors.audit_events_for(principal=principal, **form.filters())
    return render(
        request,
        "retail/audit_list.html",
        {
            "form": form,
            "page": selectors.page_of(events, page=request.GET.get("page")),
            "query": _query_without_page(request),
        },
    )


@login_required
def audit_user(request, user_id: int):
    """One user's actions in the brand; 404 unless the user holds a role in it."""
    principal = _audit_principal(request)
    person = get_object_or_404(selectors.brand_staff_users(principal=principal), pk=user_id)
    events = selectors.audit_events_for(principal=principal, actor_id=person.pk)
    return render(
        request,
        "retail/audit_user.html",
        {"person": person, "page": selectors.page_of(events, page=request.GET.get("page"))},
    )


def _query_without_page(request) -> str:
    """The current filters as a query string, for pagination links."""
    params = request.GET.copy()
    params.pop("page", None)
    return params.urlencode()
