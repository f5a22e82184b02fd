"""The catalog-and-screens step of store onboarding (registered in ShelvesConfig.ready()):
the store has at least one active cloud-shelf screen showing a catalog."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from retail.onboarding.steps import StepState

from ..choices import ScreenStatus
from ..models import Screen


def catalog_screens_step(store) -> StepState:
    """Done when an active screen of the store has a daytime, night-time or Double-11 catalog."""
    screens = list(
        Screen.objects.filter(brand_id=store.brand_id, store=store, status=ScreenStatus.ACTIVE)
        .select_related("day_catalog", "night_catalog", "double11_catalog")
        .order_by("name", "pk")
    )
    items = []
    for screen in screens:
        catalogs = [c.name for c in (screen.day_catalog, screen.night_catalog, screen.double11_catalog) if c]
        items.append(
            {
                "label": screen.name,
                "ok": bool(catalogs),
                "detail": ", ".join(catalogs) if catalogs else _("No catalog assigned"),
            }
        )
    done = any(i["ok"] for i in items)
    missing = []
    if not screens:
        missing.append(_("No active cloud-shelf screen in this store yet."))
    elif not done:
        missing.append(_("No screen of this store shows a catalog yet."))
    return StepState(done=done, missing=missing, data={"items": items})


def catalog_screens_step_links(store) -> list[tuple[str, str]]:
    return [
        (_("Set up a screen"), reverse("shelves:screen_new")),
        (_("This store's screens"), f"{reverse('shelves:screen_list')}?store={store.pk}"),
    ]
