"""Reads of the incident desk: the principal's incidents (HQ: the brand's; store staff:
their stores'), one incident with its comments, the assignable HQ staff, and time to
resolve per campaign (count, open, median and p90 minutes, by kind)."""

from __future__ import annotations

import math
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils import timezone

from retail.choices import Role
from retail.models import StaffRole
from retail.tenancy import Principal

from ..choices import IncidentKind, IncidentStatus
from ..models import Campaign, Incident, IncidentComment


def incidents_for(*, principal: Principal) -> QuerySet[Incident]:
    """Incidents the principal may see, with store, campaign, reporter and assignee joined."""
    return Incident.objects.for_principal(principal).select_related(
        "store", "campaign", "reported_by", "assignee"
    )


def incident_list(
    *,
    principal: Principal,
    status: str | None = None,
    severity: str | None = None,
    campaign_id: int | None = None,
    store_id: int | None = None,
) -> QuerySet[Incident]:
    """The desk: scoped, filtered, newest first."""
    qs = incidents_for(principal=principal)
    if status:
        qs = qs.filter(status=status)
    if severity:
        qs = qs.filter(severity=severity)
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    if store_id:
        qs = qs.filter(store_id=store_id)
    return qs.order_by("-opened_at", "-pk")


def incident_detail(*, principal: Principal, incident_id: int) -> Incident | None:
    """One incident the principal may see (None otherwise), comments with authors in
    `comment_list`."""
    incident = incidents_for(principal=principal).filter(pk=incident_id).first()
    if incident is not None:
        incident.comment_list = list(
            IncidentComment.objects.filter(incident=incident)
            .select_related("author")
            .order_by("created_at", "pk")
        )
    return incident


def matches(incident: Incident, *, status=None, severity=None, campaign_id=None, store_id=None) -> bool:
    """Whether an incident passes the desk's filters (a live row joins the list only then)."""
    return (
        (not status or incident.status == status)
        and (not severity or incident.severity == severity)
        and (not campaign_id or incident.campaign_id == campaign_id)
        and (not store_id or incident.store_id == store_id)
    )


def hq_staff(*, brand_id: int) -> QuerySet:
    """Users who are HQ admins of the brand (assignees), by username."""
    user_ids = StaffRole.objects.filter(brand_id=brand_id, role=Role.HQ_ADMIN).values("user_id")
    return get_user_model().objects.filter(pk__in=user_ids, is_active=True).order_by("username")


def campaigns_for(*, principal: Principal) -> QuerySet[Campaign]:
    """Campaign choices of the desk's filter."""
    return Campaign.objects.for_principal(principal).order_by("-created_at")


def minutes_open(incident: Incident, *, now: datetime | None = None) -> int:
    """Minutes from opening to resolution (or to now, while it is open)."""
    end = incident.resolved_at or now or timezone.now()
    return max(int((end - incident.opened_at).total_seconds() // 60), 0)


def _percentile(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (the same as numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    value = ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
    return round(value, 1)


def _figures(rows: list[tuple[str, datetime, datetime | None]]) -> dict:
    durations = [(resolved - opened).total_seconds() / 60 for _s, opened, resolved in rows if resolved]
    return {
        "count": len(rows),
        "open": sum(1 for status, _o, _r in rows if status != IncidentStatus.RESOLVED),
        "resolved": len(durations),
        "median_minutes": _percentile(durations, 0.5),
        "p90_minutes": _percentile(durations, 0.9),
    }


def time_to_resolve(*, principal: Principal, campaign_id: int | None = None) -> dict:
    """Time to resolve of the principal's incidents (of one campaign, or all): totals and
    one row per kind that occurred, in the kinds' order."""
    qs = Incident.objects.for_principal(principal)
    if campaign_id:
        qs = qs.filter(campaign_id=campaign_id)
    rows = list(qs.values_list("kind", "status", "opened_at", "resolved_at"))
    by_kind = []
    for kind in IncidentKind:
        mine = [(s, o, r) for k, s, o, r in rows if k == kind]
        if mine:
            by_kind.append({"kind": kind.value, "label": str(kind.label), **_figures(mine)})
    return {**_figures([(s, o, r) for _k, s, o, r in rows]), "by_kind": by_kind}


def offline_records(incident: Incident) -> list[dict]:
    """A double spend's records (Incident.details["records"], the standing one first) with
    the store's name, the staff's username and the tablet time parsed (shown in local time)."""
    records = (incident.details or {}).get("records") if isinstance(incident.details, dict) else None
    if not isinstance(records, list):
        return []
    records = [r for r in records if isinstance(r, dict)]
    from retail.models import Store

    store_ids = {r.get("store") for r in records if isinstance(r.get("store"), int)}
    staff_ids = {r.get("staff") for r in records if isinstance(r.get("staff"), int)}
    stores = dict(
        Store.objects.filter(brand_id=incident.brand_id, pk__in=store_ids).values_list("pk", "name")
    )
    staff = dict(get_user_model().objects.filter(pk__in=staff_ids).values_list("pk", "username"))
    shaped = []
    for record in records:
        when = record.get("redeemed_at")
        try:
            when = datetime.fromisoformat(when) if isinstance(when, str) else None
        except ValueError:
            when = None
        shaped.append(
            {
                **record,
                "store_name": stores.get(record.get("store"), "—"),
                "staff_name": staff.get(record.get("staff"), "—"),
                "redeemed_at": when,
            }
        )
    return shaped


def live_campaign_by_store(*, principal: Principal) -> dict[str, int]:
    """For each of the principal's stores taking part in a published campaign: that
    campaign's id (the newest), so the report form preselects it when the store changes."""
    from ..choices import CampaignStatus
    from ..models import CampaignStore

    found: dict[str, int] = {}
    rows = (
        CampaignStore.objects.for_principal(principal)
        .filter(campaign__status=CampaignStatus.PUBLISHED)
        .order_by("store_id", "-campaign__published_at", "-campaign_id")
        .values_list("store_id", "campaign_id")
    )
    for store_id, campaign_id in rows:
        found.setdefault(str(store_id), campaign_id)
    return found
