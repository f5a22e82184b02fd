"""The rehearsal step of store onboarding (registered in PromotionsConfig.ready()): the
store's latest finished rehearsal run passed — not required while no published campaign
includes the store.

A store in onboarding is not live yet, and a rehearsal's first step ("store_live") fails for
it; for onboarding that step is left out: the run passed when every other step did."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from retail.onboarding.steps import StepState

from ..choices import CampaignStatus, RehearsalStatus
from ..models import CampaignStore, RehearsalRun
from .rehearsals import step_label

NOT_YET_LIVE_STEP = "store_live"


def rehearsal_step(store) -> StepState:
    campaigns = list(
        CampaignStore.objects.filter(
            brand_id=store.brand_id, store=store, campaign__status=CampaignStatus.PUBLISHED
        ).values_list("campaign_id", flat=True)
    )
    if not campaigns:
        return StepState(
            done=True,
            not_required=True,
            data={"note": _("No published campaign includes this store: no rehearsal needed.")},
        )
    run = (
        RehearsalRun.objects.filter(
            brand_id=store.brand_id,
            store=store,
            rehearsal__campaign_id__in=campaigns,
            status__in=[RehearsalStatus.DONE, RehearsalStatus.FAILED],
        )
        .order_by("-finished_at", "-pk")
        .first()
    )
    if run is None:
        return StepState(
            done=False, missing=[_("No rehearsal of this store has finished yet (ask HQ to start one).")]
        )
    failed = [s for s in run.steps or [] if not s.get("ok") and s.get("step") != NOT_YET_LIVE_STEP]
    passed = bool(run.ready) or (run.status == RehearsalStatus.DONE and bool(run.steps) and not failed)
    items = [
        {
            "label": step_label(s.get("step", "")),
            "ok": bool(s.get("ok")) or s.get("step") == NOT_YET_LIVE_STEP,
            "detail": "",
        }
        for s in run.steps or []
    ]
    missing = (
        []
        if passed
        else [
            _("The last rehearsal failed: %(steps)s.")
            % {"steps": ", ".join(step_label(s.get("step", "")) for s in failed)}
        ]
    )
    return StepState(done=passed, missing=missing, data={"items": items, "run": run.pk})


def rehearsal_step_links(store) -> list[tuple[str, str]]:
    return [(_("Campaign rehearsals"), reverse("promotions:rehearsal_list"))]
