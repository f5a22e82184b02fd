"""Reads of rehearsals: the brand's rehearsals by campaign, one rehearsal with its runs
("stores not ready first"), and the participating stores a rehearsal may take."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from retail.models import Store
from retail.tenancy import Principal

from ..choices import RehearsalStatus
from ..models import Campaign, Rehearsal, RehearsalRun

STEP_LABELS = {
    "store_live": gettext_noop("Store live"),
    "coupon": gettext_noop("Coupon valid here, in stock"),
    "staff": gettext_noop("Staff on duty"),
    "devices": gettext_noop("Devices online"),
    "shelves": gettext_noop("Shelf catalogs ready"),
    "join": gettext_noop("Join a member"),
    "claim": gettext_noop("Claim a coupon"),
    "order": gettext_noop("Place and pay an order"),
    "redeem": gettext_noop("Redeem the coupon"),
    "error": gettext_noop("Run failed"),
}


def step_label(step: str) -> str:
    return _(STEP_LABELS.get(step, step))


def rehearsals_for(*, principal: Principal) -> QuerySet[Rehearsal]:
    """Rehearsals the principal may see, campaign and starter joined, with counts of runs,
    finished runs and ready stores."""
    return (
        Rehearsal.objects.for_principal(principal)
        .select_related("campaign", "started_by")
        .annotate(
            run_count=Count("runs"),
            ready_count=Count("runs", filter=Q(runs__ready=True)),
            not_ready_count=Count("runs", filter=Q(runs__ready=False)),
        )
        .order_by("-created_at", "-pk")
    )


def rehearsal_detail(*, principal: Principal, rehearsal_id: int) -> Rehearsal | None:
    return rehearsals_for(principal=principal).filter(pk=rehearsal_id).first()


def _translated(step: dict) -> dict:
    reason = step.get("reason") or ""
    params = step.get("params") or {}
    if reason:
        try:
            reason = _(reason) % params if params else _(reason)
        except (KeyError, TypeError, ValueError):
            pass
    return {**step, "label": step_label(step.get("step", "")), "reason": reason}


def rehearsal_runs(*, rehearsal: Rehearsal) -> list[RehearsalRun]:
    """The runs of a rehearsal: stores not ready first, then unfinished, then ready; each
    with `step_list` (labels and reasons in the reader's language), `failed_steps` and
    `total_ms`."""
    runs = list(RehearsalRun.objects.filter(rehearsal=rehearsal).select_related("store"))
    for run in runs:
        run.step_list = [_translated(s) for s in run.steps or []]
        run.failed_steps = [s for s in run.step_list if not s.get("ok")]
        run.total_ms = round(sum(float(s.get("ms") or 0) for s in run.step_list), 1)
    order = {False: 0, None: 1, True: 2}
    return sorted(runs, key=lambda r: (order[r.ready], r.store.code, r.pk))


def is_running(rehearsal: Rehearsal) -> bool:
    return rehearsal.status in (RehearsalStatus.QUEUED, RehearsalStatus.RUNNING)


def campaigns_to_rehearse(*, principal: Principal) -> QuerySet[Campaign]:
    """Campaigns of the brand that are not over (drafts and published), newest first."""
    return Campaign.objects.for_principal(principal).exclude(status="ended").order_by("-created_at")


def participating_stores(*, principal: Principal, campaign_ids=None) -> QuerySet[Store]:
    """Stores taking part in the principal's campaigns (or the given ones), by code."""
    campaigns = campaigns_to_rehearse(principal=principal)
    if campaign_ids is not None:
        campaigns = campaigns.filter(pk__in=campaign_ids)
    return (
        Store.objects.for_principal(principal)
        .filter(campaign_links__campaign__in=campaigns)
        .distinct()
        .order_by("code")
    )
