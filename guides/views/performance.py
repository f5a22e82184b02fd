"""The conversion page (/guides/performance/, `guides:performance`): the funnel
interactions → reached → converted → orders / GMV for a period (this month by default) as a
chart and a table per guide (`?by=guide`: a guide sees only their own line, a manager their
stores' guides, HQ the brand's), per call plan (`?by=plan`, linking each plan's page) or per
store (`?by=store`). Thin: the numbers come from guides.selectors.conversions."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from retail.choices import Role
from retail.jobs import enqueue_job

from ..forms.performance import PeriodForm
from ..selectors import conversions as selectors
from ..tasks.conversions import reattribute_task


@login_required
@require_http_methods(["GET", "POST"])
def performance(request):
    principal = request.principal
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404
    form = PeriodForm(request.GET or None)
    start, end, group = form.period()
    is_hq = principal.role == Role.HQ_ADMIN
    if request.method == "POST":
        # HQ recomputes the period's attribution (orders the event missed, interactions
        # synced from offline after the order, refunds) in the background
        if not is_hq:
            raise Http404
        enqueue_job(reattribute_task, principal.brand_id, start.isoformat(), end.isoformat())
        messages.success(request, _("Recomputing the attribution of this period; reload in a minute."))
        return redirect(request.get_full_path())
    is_guide = principal.guide_user_id is not None
    if is_guide and group == "store":
        group = "guide"
    rows = selectors.funnel(principal, start=start, end=end, group=group)
    if group == "plan":
        for row in rows:
            row["url"] = _plan_url(row["id"])
    total = selectors.funnel_total(rows)
    steps = [
        {"label": _("Interactions"), "value": total["interactions"], "display": str(total["interactions"])},
        {"label": _("Reached"), "value": total["reached"], "display": str(total["reached"])},
        {"label": _("Converted"), "value": total["converted"], "display": str(total["converted"])},
    ]
    return render(
        request,
        "guides/performance/page.html",
        {
            "form": form,
            "rows": rows,
            "total": total,
            "steps": steps,
            "group": group,
            "start": start,
            "end_day": end,
            "is_guide": is_guide,
            "is_hq": is_hq,
            "groups": [g for g in ("guide", "plan", "store") if not (is_guide and g == "store")],
            "query_period": "&".join(
                f"{k}={v}" for k, v in request.GET.items() if k in ("month", "start", "end") and v
            ),
        },
    )


def _plan_url(plan_id: int | None) -> str:
    """The plan's page (helper A's `guides:plan_detail`), "" where it is not wired."""
    if plan_id is None:
        return ""
    try:
        return reverse("guides:plan_detail", kwargs={"plan_id": plan_id})
    except NoReverseMatch:
        return ""


urlpatterns = [path("", performance, name="performance")]
