"""Calls from the workbench: `start_call` (a masked call through the brand's telephony
provider) and `receive_callback` (the provider's signed status callbacks, which drive the
call's state: ringing → answered → completed, or no_answer / busy / failed).

Rules: a member without call consent is never called; the member's full number is decrypted
only to hand it to the provider, never logged or shown; a bad signature changes nothing; a
repeated callback is harmless (CallEvent is unique per (provider, event_id)); the status
only moves forward, and a final status is never moved back (an out-of-order "ringing" after
"completed" is stored as an event and ignored)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members import pii
from members.models import Member
from retail import events
from retail.errors import DomainError, NotFound
from retail.tenancy import Principal

from ..choices import FINAL_CALL_STATUSES, CallStatus, InteractionKind, NextStep, Outcome
from ..models import CallEvent, Interaction, Task
from ..providers import signing, telephony
from ..selectors.workbench import bump as bump_workbench
from .common import acting_guide, profile_of, settings_for
from .interactions import record_interaction, record_outcome

logger = logging.getLogger(__name__)

BadSignature = signing.BadSignature
BadPayload = telephony.BadPayload

# how far along a call is; a callback never moves it to a lower (or equal) rank
RANK = {
    "": 0,
    CallStatus.REQUESTED: 0,
    CallStatus.RINGING: 1,
    CallStatus.ANSWERED: 2,
    **{status: 3 for status in FINAL_CALL_STATUSES},
}


class UnknownCall(NotFound):
    code = "unknown_call"


def caller_name_for(member: Member) -> str:
    """The name the member sees: the brand's setting, or the brand's name."""
    return settings_for(member.brand_id).caller_name or member.brand.name


def start_call(
    principal: Principal,
    *,
    member: Member,
    task: Task | None = None,
    client_id: uuid.UUID | str | None = None,
) -> Interaction:
    """Record a call (status "requested") and have the brand's provider bridge the guide and
    the member once it commits. Refuses a member without call consent ("no_consent") and a
    guide without a phone on their profile ("no_guide_phone"). A repeat with the same
    client_id returns the first call without calling again. `member` comes from a scoped
    lookup. Raises DomainError("provider_unavailable") when the provider cannot be reached
    (the call is then marked failed; `exc.interaction_id` names it)."""
    if not member.consent_call:
        raise DomainError("no_consent", _("This member has not agreed to be called."), status=409)
    guide_id, _store_id = acting_guide(principal, member)
    profile = profile_of(brand_id=member.brand_id, user_id=guide_id)
    if profile is None or not profile.phone_encrypted:
        raise DomainError(
            "no_guide_phone",
            _("Your workbench profile has no phone number for the call to ring; ask your manager to add it."),
        )
    provider_name = settings_for(member.brand_id).telephony_provider
    if provider_name not in telephony.PROVIDERS:
        raise DomainError(
            "provider_unavailable", _("The brand's telephony provider is not set up."), status=503
        )
    interaction, created = record_interaction(
        principal,
        member=member,
        kind=InteractionKind.CALL,
        client_id=client_id,
        task=task,
        call_status=CallStatus.REQUESTED,
        provider=provider_name,
    )
    if not created:
        return interaction
    if connection.in_atomic_block:
        transaction.on_commit(lambda: place_call(interaction_id=interaction.pk))
    else:
        place_call(interaction_id=interaction.pk)
    interaction.refresh_from_db()
    return interaction


def callback_url(provider_name: str) -> str:
    """Where the provider posts status callbacks (TELEPHONY_CALLBACK_BASE_URL + the hook)."""
    try:
        path = reverse(f"guides_hooks:telephony_{provider_name}")
    except NoReverseMatch:
        path = f"/hooks/telephony/{provider_name}/"
    return settings.TELEPHONY_CALLBACK_BASE_URL.rstrip("/") + path


def place_call(*, interaction_id: int) -> str | None:
    """Hand a requested call to its provider (after commit). Idempotent: a call already
    placed (it has a provider reference or moved on) is left alone."""
    row = Interaction.objects.select_related("member", "member__brand").get(pk=interaction_id)
    if row.provider_ref or row.call_status != CallStatus.REQUESTED:
        return row.provider_ref or None
    profile = profile_of(brand_id=row.brand_id, user_id=row.guide_id)
    call_ref = f"ia-{row.pk}"
    try:
        provider = telephony.get_provider(row.provider)
        # inside a transaction: a simulated provider's callbacks (a job after commit) find
        # the provider reference already saved
        with transaction.atomic():
            ref = provider.place_call(
                call_ref=call_ref,
                guide_phone=pii.decrypt(profile.phone_encrypted) if profile else "",
                member_phone=pii.decrypt(row.member.phone_encrypted),
                caller_name=caller_name_for(row.member),
                callback_url=callback_url(row.provider),
            )
            Interaction.objects.filter(pk=row.pk, provider_ref="").update(
                provider_ref=ref, updated_at=timezone.now()
            )
    except telephony.ProviderError as exc:
        logger.warning("call %s: provider %s failed: %s", row.pk, row.provider, exc)
        with transaction.atomic():
            moved = Interaction.objects.filter(pk=row.pk, call_status=CallStatus.REQUESTED).update(
                call_status=CallStatus.FAILED, ended_at=timezone.now(), updated_at=timezone.now()
            )
            if moved:
                _publish(Interaction.objects.get(pk=row.pk))
        error = DomainError(
            "provider_unavailable",
            _("The call could not be placed: the telephony provider is unavailable."),
            status=503,
        )
        error.interaction_id = row.pk
        raise error from None
    return ref


def receive_callback(provider_name: str, body: bytes, headers) -> str:
    """Apply one status callback: "ok" (applied), "repeat" (seen before), "ignored" (out of
    order, or the call is over). Raises BadSignature / BadPayload (nothing changes) and
    UnknownCall."""
    if provider_name not in telephony.PROVIDERS:
        raise UnknownCall("unknown_provider")
    provider = telephony.get_provider(provider_name)
    payload = provider.verify_callback(body, headers)
    update = provider.parse_status(payload)
    with transaction.atomic():
        row = _locked_call(provider_name, update)
        if row is None:
            raise UnknownCall("unknown_call", _("No such call."))
        if CallEvent.objects.filter(provider=provider_name, event_id=update.event_id).exists():
            return "repeat"
        try:
            with transaction.atomic():
                CallEvent.objects.create(
                    interaction=row,
                    provider=provider_name,
                    event_id=update.event_id,
                    status=update.status,
                    payload=_kept(payload),
                )
        except IntegrityError:
            return "repeat"
        if RANK.get(update.status, 0) <= RANK.get(row.call_status, 0):
            return "ignored"
        fields = ["call_status", "updated_at"]
        row.call_status = update.status
        if not row.provider_ref and update.provider_ref:
            row.provider_ref = update.provider_ref
            fields.append("provider_ref")
        if update.status in (CallStatus.ANSWERED, CallStatus.COMPLETED):
            if not row.answered:
                row.answered = True
                row.answered_at = update.at - dt.timedelta(seconds=update.duration)
                fields += ["answered", "answered_at"]
        if update.status in FINAL_CALL_STATUSES:
            row.ended_at = update.at
            row.duration_seconds = update.duration if update.status == CallStatus.COMPLETED else 0
            fields += ["ended_at", "duration_seconds"]
        row.save(update_fields=fields)
        _publish(row)
    return "ok"


# what a callback's payload keeps on the CallEvent: a provider may add the numbers it
# bridged, and a database dump must hold no phone number in clear
KEPT_KEYS = ("event_id", "call_id", "call_ref", "status", "at", "duration")


def _kept(payload: dict) -> dict:
    return {key: payload[key] for key in KEPT_KEYS if key in payload}


def _locked_call(provider_name: str, update: telephony.CallUpdate) -> Interaction | None:
    qs = Interaction.objects.select_for_update().filter(provider=provider_name, kind=InteractionKind.CALL)
    row = qs.filter(provider_ref=update.provider_ref).first() if update.provider_ref else None
    if row is None and update.call_ref.startswith("ia-") and update.call_ref[3:].isdigit():
        # the callback may overtake the save of the provider's reference
        row = qs.filter(pk=int(update.call_ref[3:])).first()
        if (
            row is not None
            and row.provider_ref
            and update.provider_ref
            and row.provider_ref != update.provider_ref
        ):
            return None
    return row


def _publish(row: Interaction) -> None:
    bump_workbench(guide_ids=[row.guide_id])  # answered or not: the guide's month moves
    events.publish(
        "guide.call_updated",
        brand=row.brand_id,
        store=row.store_id,
        interaction=row.pk,
        guide=row.guide_id,
        member=row.member_id,
        status=row.call_status,
        answered=row.answered,
        duration_seconds=row.duration_seconds,
    )


def is_final(row: Interaction) -> bool:
    """Whether the call is over (or the interaction is not a call at all)."""
    return row.kind != InteractionKind.CALL or row.call_status in FINAL_CALL_STATUSES


STALE_CALL_MINUTES = 120


def expire_stale_calls(*, older_than_minutes: int = STALE_CALL_MINUTES) -> int:
    """Calls whose provider never reported an end (a lost callback) are closed after a while,
    so the guide can record the outcome: "failed" if never answered, "completed" otherwise
    (duration unknown: 0). The number closed."""
    cutoff = timezone.now() - dt.timedelta(minutes=older_than_minutes)
    open_calls = Interaction.objects.filter(
        kind=InteractionKind.CALL,
        call_status__in=[CallStatus.REQUESTED, CallStatus.RINGING, CallStatus.ANSWERED],
        occurred_at__lt=cutoff,
    ).values_list("pk", flat=True)
    closed = 0
    for pk in list(open_calls[:1000]):
        with transaction.atomic():
            row = Interaction.objects.select_for_update().get(pk=pk)
            if row.call_status in FINAL_CALL_STATUSES:
                continue
            row.call_status = CallStatus.COMPLETED if row.answered else CallStatus.FAILED
            row.ended_at = timezone.now()
            row.save(update_fields=["call_status", "ended_at", "updated_at"])
            _publish(row)
            closed += 1
    return closed


def record_call_outcome(
    principal: Principal, interaction: Interaction, *, outcome: str, next_step: str = "", note: str = ""
) -> Interaction:
    """The guide's two taps after a call (services.interactions.record_outcome, which also
    withdraws every consent of a member who asked not to be contacted). Such a member gets
    no follow-up task whatever next step was tapped. `interaction` comes from a scoped lookup."""
    if outcome == Outcome.OPTED_OUT:
        next_step = NextStep.NONE
    return record_outcome(principal, interaction, outcome=outcome, next_step=next_step, note=note)
