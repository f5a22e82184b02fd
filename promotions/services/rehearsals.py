"""Rehearsals (预演): HQ walks a campaign's whole flow in a set of stores before the day.

`start_rehearsal` makes one RehearsalRun per store and enqueues a job for each;
`run_store_rehearsal` checks the store's real setup (store live, a coupon template valid
there with stock, staff on duty, devices online, shelf catalogs ready) and then walks the
real services — join a member, claim a coupon, place and pay an order, redeem the coupon —
inside a transaction that is ALWAYS rolled back (a private exception), so nothing it wrote
stays and no event it published is delivered (events go out on commit). The steps'
results ({step, ok, reason, ms}) are kept in memory and written to the run afterwards.
When the last run finishes the rehearsal is done and `rehearsal.finished` is published.

Reasons are stored as English msgids with `params` (gettext_noop) so the report page shows
them in the reader's language; refusals of the walked services keep their own message."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from devices.choices import DeviceStatus
from devices.selectors import registry as device_selectors
from members import services as member_services
from retail import audit, events
from retail import selectors as retail_selectors
from retail import services as retail_services
from retail.choices import AuditAction, Channel, Role, StoreStatus
from retail.errors import Conflict, DomainError, InvalidInput
from retail.jobs import enqueue_job
from retail.models import StaffRole, Store
from retail.tenancy import Principal
from shelves.choices import ScreenStatus
from shelves.selectors import screens as screen_selectors

from ..choices import CampaignStatus, ClaimVia, CouponChannel, RedemptionSource, RehearsalStatus
from ..models import Campaign, CampaignStore, CouponTemplate, Rehearsal, RehearsalRun
from . import coupons

logger = logging.getLogger(__name__)

FINISHED = (RehearsalStatus.DONE, RehearsalStatus.FAILED)
STALE_AFTER_SECONDS = 3600  # a rehearsal running longer is taken as dead: another may start
STEP_ORDER = ["store_live", "coupon", "staff", "devices", "shelves", "join", "claim", "order", "redeem"]


class _Rollback(Exception):
    """Raised at the end of the sandbox: undoes everything the walk wrote."""


def may_rehearse(principal: Principal) -> bool:
    """HQ starts rehearsals and reads their reports."""
    return principal.is_superuser or (principal.brand_id is not None and principal.role == Role.HQ_ADMIN)


def _is_hq(user_id: int | None, brand_id: int) -> bool:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(pk=user_id, is_active=True).first() if user_id else None
    if user is None:
        return False
    return (
        user.is_superuser
        or StaffRole.objects.filter(user=user, brand_id=brand_id, role=Role.HQ_ADMIN).exists()
    )


# --- starting -----------------------------------------------------------------------------


def start_rehearsal(*, campaign: Campaign, store_ids, started_by_id: int | None) -> Rehearsal:
    """Rehearse `campaign` in the given participating stores: one run (and one job) each.
    While a rehearsal of the campaign is still running, starting another is refused."""
    if not _is_hq(started_by_id, campaign.brand_id):
        raise DomainError("forbidden", _("Only HQ starts rehearsals."), status=403)
    try:
        wanted = sorted({int(s) for s in store_ids})
    except (TypeError, ValueError):
        wanted = []
    if not wanted:
        message = _("Choose at least one store.")
        raise InvalidInput("no_stores", message, fields={"stores": [message]})
    taking_part = set(
        CampaignStore.objects.filter(campaign=campaign, store_id__in=wanted).values_list(
            "store_id", flat=True
        )
    )
    outside = [s for s in wanted if s not in taking_part]
    if outside:
        message = _("Only stores taking part in the campaign can rehearse it.")
        raise InvalidInput("store_not_participating", message, fields={"stores": [message]})
    since = timezone.now() - timezone.timedelta(seconds=STALE_AFTER_SECONDS)
    with transaction.atomic():
        Campaign.objects.select_for_update().filter(pk=campaign.pk).first()  # one start at a time
        if Rehearsal.objects.filter(
            campaign=campaign,
            status__in=[RehearsalStatus.QUEUED, RehearsalStatus.RUNNING],
            created_at__gte=since,
        ).exists():
            raise Conflict(
                "rehearsal_running", _("A rehearsal of this campaign is still running; wait for its report.")
            )
        rehearsal = Rehearsal.objects.create(
            brand_id=campaign.brand_id, campaign=campaign, started_by_id=started_by_id
        )
        runs = RehearsalRun.objects.bulk_create(
            [RehearsalRun(brand_id=campaign.brand_id, rehearsal=rehearsal, store_id=s) for s in wanted]
        )
        audit.record(
            AuditAction.CREATE,
            rehearsal,
            actor_id=started_by_id,
            after={"campaign": campaign.pk, "stores": wanted},
            message="rehearsal started",
        )
        from ..tasks.rehearsals import run_store_rehearsal_task

        for run in runs:
            enqueue_job(run_store_rehearsal_task, run.pk)
    return rehearsal


# --- one store ----------------------------------------------------------------------------


class _Steps:
    """The steps' results, kept outside the rolled-back block."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def run(self, step: str, check: Callable[[], tuple[bool, str, dict] | None]) -> bool:
        started = time.perf_counter()
        try:
            with transaction.atomic():  # a failing step undoes only itself
                outcome = check()
        except DomainError as exc:
            outcome = (False, exc.message, {})
        except Exception as exc:  # noqa: BLE001  (the report says what broke; the run goes on)
            logger.exception("rehearsal step %s failed", step)
            outcome = (False, f"{type(exc).__name__}: {exc}", {})
        ok, reason, params = outcome if outcome else (True, "", {})
        ms = round((time.perf_counter() - started) * 1000, 1)
        self.items.append({"step": step, "ok": bool(ok), "reason": reason, "params": params, "ms": ms})
        return bool(ok)


def _store_principal(store: Store) -> Principal:
    return Principal(kind="user", brand_id=store.brand_id, store_ids=frozenset({store.pk}))


def _template_for(campaign: Campaign, store: Store, now) -> tuple[CouponTemplate | None, str]:
    """The campaign's first coupon template usable in the store now (or on its first valid
    day), with stock; else None and why."""
    candidates = list(
        CouponTemplate.objects.filter(
            campaign=campaign,
            is_active=True,
            channel__in=[CouponChannel.STORE, CouponChannel.BOTH],
            valid_until__gt=now,
        )
        .select_related("campaign")
        .order_by("valid_from", "pk")
    )
    if not candidates:
        return None, gettext_noop("The campaign has no active in-store coupon template that is still valid.")
    here = [t for t in candidates if (ids := coupons.valid_store_ids(t)) is None or store.pk in ids]
    if not here:
        return None, gettext_noop("No coupon template of the campaign is valid in this store.")
    stocked = [t for t in here if t.remaining > 0]
    if not stocked:
        return None, gettext_noop("Every coupon template valid in this store is out of stock.")
    return stocked[0], ""


class _Walk:
    """What the sandboxed flow carries from one step to the next."""

    template: CouponTemplate | None = None
    staff_user = None
    guide_user = None
    member = None
    coupon = None
    order = None
    subtotal: Decimal = Decimal("0")


def _walk(run: RehearsalRun, steps: _Steps) -> None:
    store, campaign = run.store, run.rehearsal.campaign
    principal = _store_principal(store)
    now = timezone.now()
    w = _Walk()

    def store_live():
        # a store in onboarding rehearses before it goes live (its wizard asks for this run)
        if store.status not in (StoreStatus.LIVE, StoreStatus.ONBOARDING):
            return (
                False,
                gettext_noop("The store is not live (status: %(status)s)."),
                {"status": store.status},
            )
        return None

    def coupon_ready():
        w.template, reason = _template_for(campaign, store, now)
        return (False, reason, {}) if w.template is None else None

    def staff_on_duty():
        roles = list(
            retail_selectors.staff_for_store(principal=principal, store=store).filter(
                role__in=[Role.GUIDE, Role.STORE_MANAGER], user__is_active=True
            )
        )
        if not roles:
            return False, gettext_noop("No active guide or store manager at this store."), {}
        guides = [r.user for r in roles if r.role == Role.GUIDE]
        w.guide_user = guides[0] if guides else None
        w.staff_user = w.guide_user or roles[0].user
        return None

    def devices_online():
        devices = list(
            device_selectors.devices_for(principal=principal)
            .filter(store=store)
            .exclude(status=DeviceStatus.RETIRED)
            .order_by("serial")
        )
        down = [d for d in devices if d.status != DeviceStatus.ONLINE]
        if down:
            names = ", ".join(str(d) for d in down[:5]) + ("…" if len(down) > 5 else "")
            return (
                False,
                gettext_noop("%(down)s of %(total)s devices are not online: %(names)s"),
                {"down": len(down), "total": len(devices), "names": names},
            )
        return None

    def shelves_ready():
        if not campaign.switches_shelves:
            return None
        screens = list(
            screen_selectors.screens_for(principal=principal).filter(store=store, status=ScreenStatus.ACTIVE)
        )
        bare = [s for s in screens if not s.double11_catalog_id and not s.day_catalog_id]
        if bare:
            return (
                False,
                gettext_noop("Shelf screens without a Double-11 or daytime catalog: %(names)s"),
                {"names": ", ".join(s.name for s in bare[:5])},
            )
        return None

    def join():
        for _attempt in range(3):
            phone = "199" + "".join(secrets.choice("0123456789") for _ in range(8))
            try:
                with transaction.atomic():
                    w.member = member_services.join_member(
                        brand_id=store.brand_id,
                        phone=phone,
                        name="Rehearsal",
                        store=store,
                        guide=w.guide_user,
                    )
                return None
            except Conflict:
                continue
        return False, gettext_noop("Could not join a test member."), {}

    def claim():
        if w.template is None or w.member is None:
            return False, gettext_noop("Skipped: no coupon template or member to claim with."), {}
        template = w.template
        # a rehearsal runs before the campaign is published: in the sandbox it is live
        template.campaign.status = CampaignStatus.PUBLISHED
        tiers = coupons.tier_ids(template)
        if tiers and w.member.tier_id not in tiers:
            w.member.tier_id = min(tiers)  # an eligible member (rolled back with the rest)
            w.member.save(update_fields=["tier"])
        at = max(now, template.valid_from + timezone.timedelta(seconds=1))
        w.at = at
        w.coupon = coupons.claim_coupon(
            template=template,
            member=w.member,
            via=ClaimVia.REHEARSAL,
            staff_id=w.staff_user.pk if w.staff_user else None,
            store=store,
            now=at,
        ).coupon
        return None

    def order():
        if w.coupon is None:
            return False, gettext_noop("Skipped: no coupon was claimed."), {}
        product = (
            retail_selectors.products_for(principal=principal).filter(is_active=True).order_by("pk").first()
        )
        if product is None:
            return False, gettext_noop("The brand has no active product to sell."), {}
        template = w.template
        w.subtotal = max(product.price or Decimal("0"), template.threshold, Decimal("100.00"))
        discount = coupons.discount_for(template, w.subtotal)
        w.order = retail_services.record_order(
            brand=store.brand_id,
            external_id=f"rehearsal-{run.pk}-{secrets.token_hex(6)}",
            channel=Channel.STORE,
            lines=[{"product": product, "quantity": 1, "unit_price": w.subtotal}],
            paid_at=w.at,
            store=store,
            member=w.member,
            guide=w.guide_user,
            discount_total=discount,
        )
        return None

    def redeem():
        if w.coupon is None or w.order is None:
            return False, gettext_noop("Skipped: no coupon or order to redeem."), {}
        coupons.redeem_coupon(
            brand_id=store.brand_id,
            code=w.coupon.code,
            store=store,
            subtotal=w.subtotal,
            source=RedemptionSource.REHEARSAL,
            staff_id=w.staff_user.pk if w.staff_user else None,
            member=w.member,
            order_ref=w.order.external_id,
            order_id=w.order.pk,
            redeemed_at=w.at,
        )
        return None

    w.at = now
    for name, check in (
        ("store_live", store_live),
        ("coupon", coupon_ready),
        ("staff", staff_on_duty),
        ("devices", devices_online),
        ("shelves", shelves_ready),
        ("join", join),
        ("claim", claim),
        ("order", order),
        ("redeem", redeem),
    ):
        steps.run(name, check)


def run_store_rehearsal(*, run_id: int) -> RehearsalRun | None:
    """Rehearse one store in a sandbox (see the module's docstring). Idempotent: a finished
    run is left as it is."""
    run = (
        RehearsalRun.objects.select_related("store", "rehearsal", "rehearsal__campaign")
        .filter(pk=run_id)
        .first()
    )
    if run is None or run.status in FINISHED:
        return run
    started_at = timezone.now()
    RehearsalRun.objects.filter(pk=run.pk).update(status=RehearsalStatus.RUNNING, started_at=started_at)
    Rehearsal.objects.filter(pk=run.rehearsal_id, status=RehearsalStatus.QUEUED).update(
        status=RehearsalStatus.RUNNING
    )
    steps = _Steps()
    status = RehearsalStatus.DONE
    try:
        with transaction.atomic():
            _walk(run, steps)
            raise _Rollback
    except _Rollback:
        pass
    except Exception as exc:  # noqa: BLE001  (recorded on the run; the rehearsal still finishes)
        logger.exception("rehearsal run %s failed", run.pk)
        steps.items.append({"step": "error", "ok": False, "reason": str(exc), "params": {}, "ms": 0})
        status = RehearsalStatus.FAILED
    ready = bool(steps.items) and all(s["ok"] for s in steps.items)
    RehearsalRun.objects.filter(pk=run.pk).update(
        status=status, steps=steps.items, ready=ready, finished_at=timezone.now()
    )
    _advance(run.rehearsal_id)
    run.refresh_from_db()
    return run


def _advance(rehearsal_id: int) -> None:
    """Progress = finished runs / runs; the last one finishes the rehearsal (once)."""
    with transaction.atomic():
        rehearsal = Rehearsal.objects.select_for_update().get(pk=rehearsal_id)
        runs = list(
            RehearsalRun.objects.filter(rehearsal_id=rehearsal_id).values_list("store_id", "status", "ready")
        )
        done = [r for r in runs if r[1] in FINISHED]
        rehearsal.progress = round(100 * len(done) / len(runs)) if runs else 100
        fields = ["progress"]
        if len(done) == len(runs) and rehearsal.status not in FINISHED:
            rehearsal.status = RehearsalStatus.DONE
            rehearsal.finished_at = timezone.now()
            fields += ["status", "finished_at"]
            events.publish(
                "rehearsal.finished",
                brand=rehearsal.brand_id,
                rehearsal=rehearsal.pk,
                campaign=rehearsal.campaign_id,
                stores=len(runs),
                ready=sum(1 for r in runs if r[2]),
                not_ready=[r[0] for r in runs if not r[2]],
            )
        rehearsal.save(update_fields=fields)
