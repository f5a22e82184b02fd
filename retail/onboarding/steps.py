"""The onboarding steps: an ordered registry of checks, each reading a store's real data.

The core registers the steps it can judge itself (basic data, staff, the recruitment QR code
printed, go live). Apps above the core register theirs in AppConfig.ready() — shelves
(`catalog_screens`), devices (`devices`), promotions (`rehearsal`) — with a check that lives
in that app's selectors, so the core never imports them:

    from retail.onboarding import steps
    steps.register("devices", title=_("Devices connected"), order=40, check=devices_step, live=True)

A check takes a store and answers a StepState: done or not, what is missing (sentences for
the manager), and data for the page (`data["items"]`: [{"label", "ok", "detail"}] is shown
as a checklist). A step that does not apply to the store answers done with
`not_required=True`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ..choices import Role, StoreStatus


@dataclass(frozen=True)
class StepState:
    done: bool
    missing: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    not_required: bool = False


Check = Callable[[Any], StepState]
Links = Callable[[Any], list[tuple[str, str]]]  # store → [(label, url)]


@dataclass(frozen=True)
class Step:
    key: str
    title: Any  # a lazy translation
    check: Check
    required: bool = True
    order: int = 100
    manual: bool = False  # done when a person confirms it (`services.confirm_step`)
    live: bool = False  # the wizard re-checks it every few seconds
    help: Any = ""
    links: Links | None = None

    def actions(self, store) -> list[tuple[str, str]]:
        return list(self.links(store)) if self.links else []


_steps: dict[str, Step] = {}

GO_LIVE = "go_live"


def register(
    key: str,
    *,
    title,
    check: Check,
    required: bool = True,
    order: int = 100,
    manual: bool = False,
    live: bool = False,
    help="",
    links: Links | None = None,
) -> Step:
    """Add (or replace, by key) an onboarding step."""
    step = Step(
        key=key,
        title=title,
        check=check,
        required=required,
        order=order,
        manual=manual,
        live=live,
        help=help,
        links=links,
    )
    _steps[key] = step
    return step


def all_steps() -> list[Step]:
    """Every registered step, in wizard order (go live last)."""
    return sorted(_steps.values(), key=lambda s: (s.key == GO_LIVE, s.order, s.key))


def get(key: str) -> Step | None:
    return _steps.get(key)


def prerequisites() -> list[Step]:
    """The steps that must be done before the store may go live."""
    return [s for s in all_steps() if s.key != GO_LIVE]


# --- the core's own steps ---------------------------------------------------------------------


def check_basics(store) -> StepState:
    """Name, code, city and address filled in."""
    labels = {
        "name": _("Store name"),
        "code": _("Store code"),
        "city": _("City"),
        "address": _("Address"),
    }
    items = [
        {
            "label": label,
            "ok": bool((getattr(store, name, "") or "").strip()),
            "detail": getattr(store, name, ""),
        }
        for name, label in labels.items()
    ]
    missing = [_("%(field)s is missing.") % {"field": item["label"]} for item in items if not item["ok"]]
    return StepState(done=not missing, missing=missing, data={"items": items})


def check_staff(store) -> StepState:
    """At least one store manager and one guide with an active account at the store."""
    from ..models import StaffRole

    roles = list(
        StaffRole.objects.filter(store=store, user__is_active=True, role__in=[Role.STORE_MANAGER, Role.GUIDE])
        .select_related("user")
        .order_by("role", "user__username")
    )
    managers = [r for r in roles if r.role == Role.STORE_MANAGER]
    guides = [r for r in roles if r.role == Role.GUIDE]
    missing = []
    if not managers:
        missing.append(_("No store manager yet."))
    if not guides:
        missing.append(_("No shopping guide yet."))
    items = [
        {
            "label": str(Role(r.role).label),
            "ok": True,
            "detail": r.user.get_full_name() or r.user.get_username(),
        }
        for r in roles
    ]
    return StepState(
        done=not missing,
        missing=missing,
        data={"items": items, "managers": len(managers), "guides": len(guides)},
    )


def check_recruitment_qr(store) -> StepState:
    """Done when a person confirmed the QR code is printed and up in the store."""
    from ..models import OnboardingStep

    row = OnboardingStep.objects.filter(store=store, key="recruitment_qr").only("data").first()
    confirmed = bool(row and (row.data or {}).get("confirmed"))
    missing = (
        [] if confirmed else [_("Print the member-recruitment QR code and confirm it is up in the store.")]
    )
    return StepState(done=confirmed, missing=missing, data={"confirmed": confirmed})


def check_go_live(store) -> StepState:
    live = store.status == StoreStatus.LIVE
    return StepState(done=live, missing=[] if live else [_("The store is not live yet.")])


def _staff_links(store) -> list[tuple[str, str]]:
    return [(_("Bulk onboarding from a CSV"), reverse("retail:onboarding:import_list"))]


def _qr_links(store) -> list[tuple[str, str]]:
    return [(_("Open the printable QR page"), reverse("retail:onboarding:qr", kwargs={"store_id": store.pk}))]


register(
    "basics",
    title=gettext_lazy("Basic data"),
    check=check_basics,
    order=10,
    help=gettext_lazy("The store's name, code, city and address."),
)
register(
    "staff",
    title=gettext_lazy("Staff"),
    check=check_staff,
    order=20,
    help=gettext_lazy("At least one store manager and one shopping guide."),
    links=_staff_links,
)
register(
    "recruitment_qr",
    title=gettext_lazy("Member-recruitment QR code"),
    check=check_recruitment_qr,
    order=50,
    manual=True,
    help=gettext_lazy("Print the QR code shoppers scan to join as members of this store."),
    links=_qr_links,
)
register(
    GO_LIVE,
    title=gettext_lazy("Go live"),
    check=check_go_live,
    required=False,
    order=1000,
    help=gettext_lazy("Every required step done: the store goes live."),
)
