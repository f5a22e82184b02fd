"""The incident desk: a store reports what broke (network, device, payment, stock, queue;
severity; note; a photo), HQ assigns it to one of its people, both sides comment, HQ
resolves it. Every change is audited and publishes `incident.opened` / `incident.updated`
(ids and status only) after commit; retail's broadcast carries them to the brand's and the
store's channel-layer groups, where the live desk (ws/incidents/) listens.

Status: open → assigned → resolved (open → resolved directly too); a resolved incident is
closed: assigning or resolving it again is a Conflict. Who may call what is checked here
from the acting user's roles (the pages check the principal as well):
store staff (guide or manager of the store) and HQ report; HQ assigns and resolves; anyone
who sees the incident comments."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from retail import audit, events
from retail.choices import AuditAction, Role
from retail.errors import Conflict, DomainError, InvalidInput, NotFound
from retail.models import StaffRole, Store

from ..choices import CampaignStatus, IncidentKind, IncidentStatus, Severity
from ..models import Campaign, Incident, IncidentComment

PHOTO_MAX_BYTES = 5 * 1024 * 1024
REPEAT_WINDOW = dt.timedelta(minutes=2)  # the same report again within it is the same incident
TITLE_MAX = 200
NOTE_MAX = 4000
COMMENT_MAX = 4000
# content type → the magic bytes a file of that type starts with
IMAGE_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "image/gif": (b"GIF87a", b"GIF89a"),
    "image/webp": (b"RIFF",),  # and "WEBP" at offset 8, checked below
}
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/gif": "gif", "image/webp": "webp"}
# kinds a store reports; double spends are found by the offline sync, not reported
REPORTABLE_KINDS = [k for k in IncidentKind if k != IncidentKind.DOUBLE_SPEND]


class PermissionRefused(DomainError):
    status = 403
    code = "forbidden"


# --- who may ------------------------------------------------------------------------------


def _user(user_id: int | None):
    if user_id is None:
        return None
    return get_user_model().objects.filter(pk=user_id, is_active=True).first()


def _roles(user_id: int, brand_id: int) -> list[StaffRole]:
    return list(StaffRole.objects.filter(user_id=user_id, brand_id=brand_id))


def is_hq(user_id: int | None, brand_id: int) -> bool:
    """HQ admin of the brand (or a superuser)."""
    user = _user(user_id)
    if user is None:
        return False
    return user.is_superuser or any(r.role == Role.HQ_ADMIN for r in _roles(user_id, brand_id))


def may_report(user_id: int | None, store: Store) -> bool:
    """HQ of the store's brand, or a guide / manager of that store."""
    user = _user(user_id)
    if user is None:
        return False
    if user.is_superuser:
        return True
    return any(
        r.role == Role.HQ_ADMIN or (r.role in (Role.STORE_MANAGER, Role.GUIDE) and r.store_id == store.pk)
        for r in _roles(user_id, store.brand_id)
    )


def may_comment(user_id: int | None, incident: Incident) -> bool:
    """Whoever may report in the incident's store may comment on it."""
    return may_report(user_id, incident.store)


# --- photo ----------------------------------------------------------------------------------


def check_photo(photo: UploadedFile) -> str:
    """An image (JPEG, PNG, GIF or WebP) of at most 5 MB, by its declared content type *and*
    its first bytes; returns the content type. Raises InvalidInput with a clear message."""

    def refuse(message: str) -> InvalidInput:
        return InvalidInput("invalid_photo", message, fields={"photo": [message]})

    size = getattr(photo, "size", None) or 0
    if size > PHOTO_MAX_BYTES:
        raise refuse(_("The photo is too large: at most 5 MB."))
    if size == 0:
        raise refuse(_("The photo is empty."))
    content_type = (getattr(photo, "content_type", "") or "").split(";")[0].strip().lower()
    if content_type == "image/jpg":
        content_type = "image/jpeg"
    if content_type not in IMAGE_SIGNATURES:
        raise refuse(_("Only photos are accepted (JPEG, PNG, GIF or WebP)."))
    photo.seek(0)
    head = photo.read(16)
    photo.seek(0)
    matches = any(head.startswith(sig) for sig in IMAGE_SIGNATURES[content_type])
    if content_type == "image/webp":
        matches = matches and head[8:12] == b"WEBP"
    if not matches:
        raise refuse(_("This file is not a photo (its contents do not match an image)."))
    return content_type


# --- use cases ------------------------------------------------------------------------------


def _clean_text(value: str, *, field: str, limit: int, required: bool) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(
            f"{field}_required", _("This field is required."), fields={field: [_("This field is required.")]}
        )
    if len(value) > limit:
        message = _("At most %(n)s characters.") % {"n": limit}
        raise InvalidInput(f"{field}_too_long", message, fields={field: [message]})
    return value


def live_campaign_for(store: Store) -> Campaign | None:
    """The published campaign the store takes part in (the newest, if several)."""
    return (
        Campaign.objects.filter(
            brand_id=store.brand_id, status=CampaignStatus.PUBLISHED, store_links__store_id=store.pk
        )
        .order_by("-published_at", "-pk")
        .first()
    )


def _published(name: str, incident: Incident, **extra) -> None:
    events.publish(
        name,
        brand=incident.brand_id,
        store=incident.store_id,
        incident=incident.pk,
        title=incident.title,
        kind=incident.kind,
        severity=incident.severity,
        status=incident.status,
        campaign=incident.campaign_id,
        **extra,
    )


def report_incident(
    *,
    store: Store,
    kind: str,
    severity: str,
    title: str,
    note: str = "",
    photo: UploadedFile | None = None,
    campaign: Campaign | None = None,
    reported_by_id: int | None,
) -> Incident:
    """A store reports an incident (store staff of that store, or HQ). Without a campaign,
    the store's live campaign is linked (so time to resolve counts per campaign)."""
    if not may_report(reported_by_id, store):
        raise PermissionRefused("forbidden", _("You may not report incidents for this store."))
    if kind not in IncidentKind.values:
        raise InvalidInput("invalid_kind", _("Choose a kind."), fields={"kind": [_("Choose a kind.")]})
    if severity not in Severity.values:
        raise InvalidInput(
            "invalid_severity", _("Choose a severity."), fields={"severity": [_("Choose a severity.")]}
        )
    title = _clean_text(title, field="title", limit=TITLE_MAX, required=True)
    note = _clean_text(note, field="note", limit=NOTE_MAX, required=False)
    if campaign is not None and campaign.brand_id != store.brand_id:
        raise NotFound("campaign_not_found", _("No such campaign."), fields={"campaign": [_("Not found.")]})
    if photo:
        content_type = check_photo(photo)
        photo.name = f"incident.{EXTENSIONS[content_type]}"  # never the client's file name
    campaign = campaign or live_campaign_for(store)
    repeat = (
        Incident.objects.filter(
            brand_id=store.brand_id,
            store=store,
            reported_by_id=reported_by_id,
            kind=kind,
            title=title,
            opened_at__gte=timezone.now() - REPEAT_WINDOW,
        )
        .order_by("-opened_at")
        .first()
    )
    if repeat is not None:  # a double tap or a resent form: the same incident, nothing new
        return repeat
    with transaction.atomic():
        incident = Incident(
            brand_id=store.brand_id,
            store=store,
            campaign=campaign,
            kind=kind,
            severity=severity,
            title=title,
            note=note,
            reported_by_id=reported_by_id,
        )
        if photo:
            incident.photo = photo
        incident.save()
        audit.record(
            AuditAction.CREATE,
            incident,
            actor_id=reported_by_id,
            after=_snapshot(incident),
            message="incident reported",
        )
        _published("incident.opened", incident)
    return incident


def _snapshot(incident: Incident) -> dict:
    """The audit's picture of an incident (the photo as its stored name)."""
    data = {
        f.attname: f.value_from_object(incident)
        for f in incident._meta.concrete_fields
        if f.name not in ("photo", "details")
    }
    data["photo"] = incident.photo.name or ""
    return json.loads(json.dumps(data, cls=DjangoJSONEncoder))


def _locked(incident: Incident) -> Incident:
    return Incident.objects.select_for_update().get(pk=incident.pk)


def assign_incident(*, incident: Incident, assignee_id: int, actor_id: int | None = None) -> Incident:
    """HQ gives the incident to one of the brand's HQ people. Assigning it again to the same
    person changes nothing; a resolved incident is closed."""
    if actor_id is not None and not is_hq(actor_id, incident.brand_id):
        raise PermissionRefused("forbidden", _("Only HQ assigns incidents."))
    assignee = _user(assignee_id)
    if assignee is None or not (
        StaffRole.objects.filter(user=assignee, brand_id=incident.brand_id, role=Role.HQ_ADMIN).exists()
    ):
        message = _("Choose one of the brand's HQ staff.")
        raise InvalidInput("invalid_assignee", message, fields={"assignee": [message]})
    with transaction.atomic():
        locked = _locked(incident)
        if locked.status == IncidentStatus.RESOLVED:
            raise Conflict("incident_resolved", _("This incident is resolved; it can no longer be assigned."))
        if locked.assignee_id == assignee.pk and locked.status == IncidentStatus.ASSIGNED:
            return locked
        before = _snapshot(locked)
        locked.assignee = assignee
        locked.status = IncidentStatus.ASSIGNED
        locked.assigned_at = timezone.now()
        locked.save(update_fields=["assignee", "status", "assigned_at"])
        audit.record(
            AuditAction.UPDATE,
            locked,
            actor_id=actor_id,
            before=before,
            after=_snapshot(locked),
            message=f"incident assigned to {assignee.get_username()}",
        )
        _published("incident.updated", locked, change="assigned", assignee=assignee.pk)
    return locked


def comment_incident(*, incident: Incident, author_id: int, body: str) -> IncidentComment:
    """Add a comment (HQ or the store's staff), also after the incident is resolved."""
    if not may_comment(author_id, incident):
        raise PermissionRefused("forbidden", _("You may not comment on this incident."))
    body = _clean_text(body, field="body", limit=COMMENT_MAX, required=True)
    with transaction.atomic():
        comment = IncidentComment.objects.create(
            brand_id=incident.brand_id, incident=incident, author_id=author_id, body=body
        )
        audit.record(
            AuditAction.CREATE, comment, actor_id=author_id, after=audit.snapshot(comment), message="comment"
        )
        _published("incident.updated", incident, change="commented", comment=comment.pk)
    return comment


def resolve_incident(*, incident: Incident, resolution: str, actor_id: int | None = None) -> Incident:
    """HQ closes the incident with what was done; time to resolve runs from opened_at."""
    if actor_id is not None and not is_hq(actor_id, incident.brand_id):
        raise PermissionRefused("forbidden", _("Only HQ resolves incidents."))
    resolution = _clean_text(resolution, field="resolution", limit=NOTE_MAX, required=True)
    with transaction.atomic():
        locked = _locked(incident)
        if locked.status == IncidentStatus.RESOLVED:
            raise Conflict("incident_resolved", _("This incident is already resolved."))
        before = _snapshot(locked)
        locked.status = IncidentStatus.RESOLVED
        locked.resolution = resolution
        locked.resolved_at = timezone.now()
        locked.save(update_fields=["status", "resolution", "resolved_at"])
        audit.record(
            AuditAction.UPDATE,
            locked,
            actor_id=actor_id,
            before=before,
            after=_snapshot(locked),
            message="incident resolved",
        )
        _published("incident.updated", locked, change="resolved")
    return locked
