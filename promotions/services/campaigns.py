"""Campaigns: HQ creates a campaign (name, stores, phases), publishes it, and the beat moves
it through its phases.

- Edits: `create_campaign`, `update_campaign`, `set_phases` (phases only while draft). Who
  may call them (HQ and superusers) is the caller's check: `may_manage_campaigns`.
- `publish_campaign`: one transaction: status, the benefits' segment freeze, and one
  django-celery-beat one-off entry per phase start (plus one at the end) running
  `promotions.tasks.campaigns.apply_campaign_phases_task`.
- `apply_phases`: enters due phases by a conditional UPDATE (`entered_at IS NULL`), so a
  doubled beat or two workers at once change a phase once and publish its
  `campaign.phase_changed` once; skipped phases are caught up in order. Entering the main
  day switches the brand's cloud shelves into Double-11 mode, leaving it switches them off.
Every change is audited."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from retail import audit, events
from retail.choices import AuditAction, Role
from retail.errors import Conflict, InvalidInput
from retail.models import Store
from retail.tenancy import Principal

from ..choices import PHASE_ORDER, CampaignStatus, PhaseKind
from ..models import Campaign, CampaignPhase, CampaignStore

logger = logging.getLogger(__name__)

PHASE_TASK = "promotions.tasks.campaigns.apply_campaign_phases_task"
ENDED = "ended"  # the `phase` of the last campaign.phase_changed


def may_manage_campaigns(principal: Principal) -> bool:
    """Campaigns are brand-wide: HQ (and superusers) change them; stores only read."""
    return principal.is_superuser or (principal.brand_id is not None and principal.role == Role.HQ_ADMIN)


# --- helpers ------------------------------------------------------------------------------------


def _local(value: dt.datetime) -> str:
    return date_format(timezone.localtime(value), "Y-m-d H:i")


def _snapshot(campaign: Campaign) -> dict:
    data = audit.snapshot(campaign)
    data["stores"] = sorted(
        CampaignStore.objects.filter(campaign=campaign).values_list("store_id", flat=True)
    )
    data["phases"] = [
        [kind, starts.isoformat(), ends.isoformat()]
        for kind, starts, ends in CampaignPhase.objects.filter(campaign=campaign)
        .order_by("starts_at")
        .values_list("kind", "starts_at", "ends_at")
    ]
    return data


def _record(campaign: Campaign, action: str, *, before: dict | None, message: str, actor=None) -> None:
    audit.record(
        action,
        campaign,
        actor_id=getattr(actor, "pk", None),
        before=before,
        after=_snapshot(campaign),
        message=message,
    )


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise InvalidInput("invalid", _("A campaign needs a name."), fields={"name": [_("Required.")]})
    if len(name) > 120:
        raise InvalidInput(
            "invalid", _("The name is too long."), fields={"name": [_("At most 120 characters.")]}
        )
    return name


def _duplicate_name() -> Conflict:
    return Conflict(
        "duplicate_name",
        _("The brand already has a campaign with this name."),
        fields={"name": [_("Already taken.")]},
    )


def _store_ids(brand_id: int, stores: Iterable) -> list[int]:
    """The given stores (objects or ids) as ids, each one of the brand's."""
    ids = sorted({s.pk if isinstance(s, Store) else int(s) for s in stores})
    if not ids:
        raise InvalidInput(
            "no_stores",
            _("Choose at least one participating store."),
            fields={"stores": [_("Choose at least one store.")]},
        )
    found = set(Store.objects.filter(brand_id=brand_id, pk__in=ids).values_list("pk", flat=True))
    if len(found) != len(ids):
        raise InvalidInput(
            "unknown_store",
            _("Only the brand's own stores can take part."),
            fields={"stores": [_("Unknown store.")]},
        )
    return ids


def _set_stores(campaign: Campaign, store_ids: list[int]) -> None:
    CampaignStore.objects.filter(campaign=campaign).exclude(store_id__in=store_ids).delete()
    have = set(CampaignStore.objects.filter(campaign=campaign).values_list("store_id", flat=True))
    CampaignStore.objects.bulk_create(
        [
            CampaignStore(brand_id=campaign.brand_id, campaign=campaign, store_id=pk)
            for pk in store_ids
            if pk not in have
        ]
    )


def _lock(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


def _refuse_unless_draft(campaign: Campaign, message: str) -> None:
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict("not_draft", message)


# --- edits --------------------------------------------------------------------------------------


def create_campaign(
    *,
    brand_id: int,
    name: str,
    stores: Iterable,
    description: str = "",
    switches_shelves: bool = True,
    actor=None,
) -> Campaign:
    """A draft campaign of the brand with its participating stores (the brand's only);
    the name is unique per brand."""
    name = _clean_name(name)
    store_ids = _store_ids(brand_id, stores)
    try:
        with transaction.atomic():
            campaign = Campaign.objects.create(
                brand_id=brand_id,
                name=name,
                description=(description or "").strip(),
                switches_shelves=switches_shelves,
                created_by=actor,
            )
            _set_stores(campaign, store_ids)
            _record(campaign, AuditAction.CREATE, before=None, message="campaign created", actor=actor)
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    return campaign


def update_campaign(
    *,
    campaign: Campaign,
    name: str,
    stores: Iterable,
    description: str = "",
    switches_shelves: bool = True,
    actor=None,
) -> Campaign:
    """Change a campaign's name, description, stores and shelf switch. Stores and the
    shelf switch change only while draft (publishing scheduled the campaign with them);
    an ended campaign no longer changes."""
    name = _clean_name(name)
    store_ids = _store_ids(campaign.brand_id, stores)
    try:
        with transaction.atomic():
            locked = _lock(campaign)
            if locked.status == CampaignStatus.ENDED:
                raise Conflict("ended", _("The campaign has ended; it can no longer be changed."))
            before = _snapshot(locked)
            if locked.status != CampaignStatus.DRAFT and (
                before["stores"] != store_ids or locked.switches_shelves != switches_shelves
            ):
                raise Conflict(
                    "not_draft",
                    _("The campaign is published: its stores and shelf switch can no longer change."),
                    fields={"stores": [_("Published: stores are fixed.")]},
                )
            locked.name = name
            locked.description = (description or "").strip()
            locked.switches_shelves = switches_shelves
            locked.save(update_fields=["name", "description", "switches_shelves", "updated_at"])
            _set_stores(locked, store_ids)
            after = _snapshot(locked)
            if after != before | {"updated_at": after["updated_at"]}:
                _record(locked, AuditAction.UPDATE, before=before, message="campaign changed", actor=actor)
    except IntegrityError as exc:
        raise _duplicate_name() from exc
    campaign.refresh_from_db()
    return campaign


@dataclass(frozen=True)
class PhaseWindow:
    kind: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def _clean_phases(windows: Mapping[str, tuple | None]) -> list[PhaseWindow]:
    unknown = set(windows) - set(PhaseKind.values)
    if unknown:
        raise InvalidInput(
            "unknown_phase", _("Unknown phase: %(kinds)s.") % {"kinds": ", ".join(sorted(unknown))}
        )
    cleaned: list[PhaseWindow] = []
    errors: dict[str, list[str]] = {}
    for kind in PHASE_ORDER:
        window = windows.get(kind)
        if not window or (window[0] is None and window[1] is None):
            continue
        starts_at, ends_at = window
        if starts_at is None or ends_at is None:
            errors.setdefault(kind, []).append(_("Give both the start and the end, or neither."))
            continue
        if ends_at <= starts_at:
            errors.setdefault(kind, []).append(_("The end must come after the start."))
            continue
        cleaned.append(PhaseWindow(kind, starts_at, ends_at))
    for earlier, later in zip(cleaned, cleaned[1:], strict=False):
        if later.starts_at < earlier.ends_at:
            errors.setdefault(later.kind, []).append(
                _("%(phase)s must start at or after the end of %(earlier)s (%(end)s).")
                % {
                    "phase": PhaseKind(later.kind).label,
                    "earlier": PhaseKind(earlier.kind).label,
                    "end": _local(earlier.ends_at),
                }
            )
    if errors:
        first = next(iter(errors.values()))[0]
        raise InvalidInput("invalid_phases", first, fields=errors)
    if not cleaned:
        raise InvalidInput("no_phases", _("Give at least one phase a start and an end."))
    return cleaned


def set_phases(
    *,
    campaign: Campaign,
    phases: Mapping[str, tuple[dt.datetime | None, dt.datetime | None] | None],
    actor=None,
) -> list[CampaignPhase]:
    """Replace the campaign's phases: {kind: (starts_at, ends_at) or None}. Each phase is
    optional, but they come in order (warm-up, pre-sale, main day, after-sale), each ends
    after it starts and none overlaps the next. Only while draft."""
    cleaned = _clean_phases(phases)
    with transaction.atomic():
        locked = _lock(campaign)
        _refuse_unless_draft(locked, _("The campaign is published: its phases can no longer change."))
        before = _snapshot(locked)
        CampaignPhase.objects.filter(campaign=locked).exclude(kind__in=[w.kind for w in cleaned]).delete()
        made = []
        for window in cleaned:
            phase, _created = CampaignPhase.objects.update_or_create(
                campaign=locked,
                kind=window.kind,
                defaults={
                    "brand_id": locked.brand_id,
                    "starts_at": window.starts_at,
                    "ends_at": window.ends_at,
                },
            )
            made.append(phase)
        Campaign.objects.filter(pk=locked.pk).update(updated_at=timezone.now())
        if _snapshot(locked)["phases"] != before["phases"]:
            _record(locked, AuditAction.UPDATE, before=before, message="phases set", actor=actor)
    return made


# --- publishing ---------------------------------------------------------------------------------


def _freeze_benefits(campaign: Campaign) -> None:
    """The benefits helper's segment freeze (promotions.services.benefits), when present."""
    try:
        from . import benefits
    except ModuleNotFoundError as exc:  # only the module itself missing, nothing it imports
        if exc.name != f"{__package__}.benefits":
            raise
        logger.warning("promotions.services.benefits is missing: no benefit segments frozen")
        return
    if hasattr(benefits, "freeze_for_campaign"):
        benefits.freeze_for_campaign(campaign=campaign)


def _task_name(campaign: Campaign, what: str) -> str:
    return f"campaign-{campaign.pk}-{what}"


def _schedule(campaign: Campaign, *, what: str, at: dt.datetime):
    """A one-off beat entry at `at` that runs apply_campaign_phases_task(campaign_id)."""
    from django_celery_beat.models import ClockedSchedule, PeriodicTask

    clock = ClockedSchedule.objects.filter(clocked_time=at).first() or ClockedSchedule.objects.create(
        clocked_time=at
    )
    task, _created = PeriodicTask.objects.update_or_create(
        name=_task_name(campaign, what),
        defaults={
            "task": PHASE_TASK,
            "clocked": clock,
            "interval": None,
            "crontab": None,
            "solar": None,
            "one_off": True,
            "enabled": True,
            "args": json.dumps([campaign.pk]),
            "kwargs": json.dumps({}),
            "description": f"Campaign {campaign.pk} ({campaign.name}): {what} at {at.isoformat()}",
        },
    )
    return task


def publish_problems(*, campaign: Campaign, now: dt.datetime | None = None) -> list[str]:
    """Why the campaign cannot be published now (empty: it can)."""
    now = now or timezone.now()
    if campaign.status != CampaignStatus.DRAFT:
        return [_("The campaign is already published.")]
    problems = []
    phases = list(CampaignPhase.objects.filter(campaign=campaign).order_by("starts_at"))
    if not phases:
        problems.append(_("Give the campaign its phases first."))
    if not CampaignStore.objects.filter(campaign=campaign).exists():
        problems.append(_("Choose the participating stores first."))
    for phase in phases:
        if phase.ends_at <= now:
            problems.append(
                _("%(phase)s is already over (it ended %(end)s): move it or leave it out.")
                % {"phase": phase.get_kind_display(), "end": _local(phase.ends_at)}
            )
    return problems


def publish_campaign(*, campaign: Campaign, actor=None, now: dt.datetime | None = None) -> Campaign:
    """Publish a draft campaign: freeze its benefits' segments and schedule its phase
    changes (one-off beat entries). Refuses, changing nothing, without phases or stores,
    with a phase already over, or when already published."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(campaign)
        if locked.status != CampaignStatus.DRAFT:
            raise Conflict("already_published", _("The campaign is already published."))
        problems = publish_problems(campaign=locked, now=now)
        if problems:
            raise Conflict("not_ready", " ".join(problems))
        before = _snapshot(locked)
        locked.status = CampaignStatus.PUBLISHED
        locked.published_at = now
        locked.published_by = actor
        locked.save(update_fields=["status", "published_at", "published_by", "updated_at"])
        _freeze_benefits(locked)
        phases = list(CampaignPhase.objects.filter(campaign=locked).order_by("starts_at"))
        for n, phase in enumerate(phases):
            phase.periodic_task = _schedule(locked, what=phase.kind, at=phase.starts_at)
            phase.save(update_fields=["periodic_task"])
            if n + 1 < len(phases) and phases[n + 1].starts_at > phase.ends_at:
                # a gap before the next phase: leave this one on time (shelves after main)
                _schedule(locked, what=f"{phase.kind}-end", at=phase.ends_at)
        _schedule(locked, what="end", at=phases[-1].ends_at)
        _record(locked, AuditAction.UPDATE, before=before, message="campaign published", actor=actor)
        events.publish(
            "campaign.published",
            brand=locked.brand_id,
            campaign=locked.pk,
            title=locked.name,
            phases=[[p.kind, p.starts_at.isoformat(), p.ends_at.isoformat()] for p in phases],
            stores=before["stores"],
        )
    campaign.refresh_from_db()
    return campaign


# --- phase changes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """One phase change made by this call: `phase` is a PhaseKind or "ended"."""

    campaign_id: int
    phase: str
    previous: str


def _switch_shelves(campaign: Campaign, *, on: bool) -> None:
    if not campaign.switches_shelves:
        return
    from shelves.services.catalogs import set_double11_mode

    set_double11_mode(brand_id=campaign.brand_id, on=on)


def _phase_changed(campaign: Campaign, *, phase: str, previous: str) -> Transition:
    # the command centre's countdown needs the name, when this phase ends and what is next
    phases = list(CampaignPhase.objects.filter(campaign_id=campaign.pk).order_by("starts_at"))
    current = next((p for p in phases if p.kind == phase), None)
    upcoming = next((p for p in phases if current is not None and p.starts_at >= current.ends_at), None)
    events.publish(
        "campaign.phase_changed",
        brand=campaign.brand_id,
        campaign=campaign.pk,
        title=campaign.name,
        phase=phase,
        previous=previous,
        phase_ends_at=current.ends_at.isoformat() if current else None,
        next_phase=upcoming.kind if upcoming else ("ended" if current else ""),
        next_at=(upcoming.starts_at if upcoming else current.ends_at).isoformat() if current else None,
    )
    return Transition(campaign.pk, phase, previous)


def _leave(campaign: Campaign, phase: CampaignPhase, now: dt.datetime) -> bool:
    """Leave a phase once (conditional UPDATE); the winner switches shelves off after the
    main day and clears `current_phase` if the campaign was still in it."""
    won = CampaignPhase.objects.filter(pk=phase.pk, left_at__isnull=True).update(left_at=now)
    if won:
        Campaign.objects.filter(pk=campaign.pk, current_phase=phase.kind).update(
            current_phase="", updated_at=now
        )
        if phase.kind == PhaseKind.MAIN:
            _switch_shelves(campaign, on=False)
    return bool(won)


def apply_phases(*, campaign_id: int, now: dt.datetime | None = None) -> list[Transition]:
    """Bring a published campaign into the phase it should be in at `now`: every phase
    whose start has come and that was not entered yet is entered, in order, each by a
    conditional UPDATE (`entered_at IS NULL`); only the call that wins it publishes its
    campaign.phase_changed, so a doubled beat, two workers or a later catch-up repeat
    nothing. A phase whose end has come is left the same way. After the last phase's end
    the campaign is ENDED (one phase_changed with phase "ended")."""
    now = now or timezone.now()
    campaign = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.PUBLISHED).first()
    if campaign is None:
        return []
    phases = list(CampaignPhase.objects.filter(campaign=campaign).order_by("starts_at"))
    done: list[Transition] = []
    previous = ""
    for n, phase in enumerate(phases):
        if phase.starts_at > now:
            break
        if phase.entered_at is None:
            with transaction.atomic():
                won = CampaignPhase.objects.filter(pk=phase.pk, entered_at__isnull=True).update(
                    entered_at=now
                )
                if won:
                    for earlier in phases[:n]:
                        _leave(campaign, earlier, now)
                    Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.PUBLISHED).update(
                        current_phase=phase.kind, updated_at=now
                    )
                    if phase.kind == PhaseKind.MAIN and phase.ends_at > now:
                        _switch_shelves(campaign, on=True)
                    done.append(_phase_changed(campaign, phase=phase.kind, previous=previous))
        if phase.ends_at <= now and phase.left_at is None:
            with transaction.atomic():
                _leave(campaign, phase, now)
        previous = phase.kind
    if phases and phases[-1].ends_at <= now:
        with transaction.atomic():
            won = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.PUBLISHED).update(
                status=CampaignStatus.ENDED, current_phase="", updated_at=now
            )
            if won:
                done.append(_phase_changed(campaign, phase=ENDED, previous=phases[-1].kind))
    if done:
        campaign.refresh_from_db()
        audit.record(
            AuditAction.UPDATE,
            campaign,
            actor_label="beat",
            after={"current_phase": campaign.current_phase, "status": campaign.status},
            message="phase: " + ", ".join(f"{t.previous or '-'} → {t.phase}" for t in done),
        )
    return done


def due_campaign_ids(*, now: dt.datetime | None = None) -> list[int]:
    """Published campaigns with a phase change due: a started phase not entered yet, an
    ended phase not left yet, or the last phase over."""
    now = now or timezone.now()
    phases = CampaignPhase.objects.filter(campaign=OuterRef("pk"))
    return list(
        Campaign.objects.filter(status=CampaignStatus.PUBLISHED)
        .filter(
            Q(Exists(phases.filter(starts_at__lte=now, entered_at__isnull=True)))
            | Q(Exists(phases.filter(ends_at__lte=now, left_at__isnull=True)))
            | ~Q(Exists(phases.filter(ends_at__gt=now)))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def apply_due_phases(*, now: dt.datetime | None = None) -> list[Transition]:
    """The catch-up: apply_phases for every published campaign with a change due (a lost
    beat entry or a beat that was down)."""
    now = now or timezone.now()
    done: list[Transition] = []
    for campaign_id in due_campaign_ids(now=now):
        try:
            done.extend(apply_phases(campaign_id=campaign_id, now=now))
        except Exception:  # one campaign's failure must not hold up the others
            logger.exception("phase change of campaign %s failed", campaign_id)
    return done


def end_campaign(*, campaign: Campaign, actor=None, now: dt.datetime | None = None) -> Campaign:
    """End a published campaign now (before its last phase ends): the current phase is
    left, shelves leave Double-11 mode, its pending beat entries are disabled and one
    campaign.phase_changed with phase "ended" is published. Ending an ended campaign is
    harmless; a draft cannot be ended."""
    from django_celery_beat.models import PeriodicTask

    now = now or timezone.now()
    with transaction.atomic():
        locked = _lock(campaign)
        if locked.status == CampaignStatus.ENDED:
            return locked
        if locked.status != CampaignStatus.PUBLISHED:
            raise Conflict("not_published", _("Only a published campaign can be ended."))
        before = _snapshot(locked)
        previous = locked.current_phase
        Campaign.objects.filter(pk=locked.pk).update(
            status=CampaignStatus.ENDED, current_phase="", updated_at=now
        )
        CampaignPhase.objects.filter(campaign=locked, entered_at__isnull=False, left_at__isnull=True).update(
            left_at=now
        )
        PeriodicTask.objects.filter(name__startswith=f"campaign-{locked.pk}-", task=PHASE_TASK).update(
            enabled=False
        )
        if previous == PhaseKind.MAIN:
            _switch_shelves(locked, on=False)
        locked.refresh_from_db()
        _record(locked, AuditAction.UPDATE, before=before, message="campaign ended early", actor=actor)
        _phase_changed(locked, phase=ENDED, previous=previous)
    campaign.refresh_from_db()
    return campaign
