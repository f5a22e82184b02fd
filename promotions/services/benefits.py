"""Member-exclusive benefits of a campaign (a gift, early access, a fitting-room slot) for
some tiers and/or a materialised segment of the brand.

Benefits change only while their campaign is a draft. When the campaign is published, its
publish calls `freeze_for_campaign` inside its transaction: each benefit's segment members
are copied into BenefitMember, so later re-materialisations of the segment change nobody's
benefit; the freeze is audited. Who may call the writes (HQ) is the caller's check:
`may_manage_benefits`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Max, Min
from django.utils import timezone
from django.utils.translation import gettext as _

from members.choices import JobStatus
from members.models import Segment, SegmentMember, Tier
from retail import audit
from retail.choices import AuditAction, Role
from retail.errors import Conflict, InvalidInput
from retail.tenancy import Principal

from ..choices import BenefitKind, CampaignStatus
from ..models import Benefit, BenefitMember, Campaign

# member-id range copied per statement: bounded statements on a brand with millions
FREEZE_CHUNK = 50_000


def may_manage_benefits(principal: Principal) -> bool:
    """Benefits belong to a campaign (brand-wide): HQ (and superusers) write them."""
    return principal.is_superuser or (principal.brand_id is not None and principal.role == Role.HQ_ADMIN)


def _draft_only(campaign: Campaign) -> None:
    if campaign.status != CampaignStatus.DRAFT:
        raise Conflict(
            "campaign_not_draft",
            _("The campaign is published: its benefits can no longer change."),
        )


def _ids(values: Iterable[Any] | None) -> list[int]:
    return sorted({int(v.pk if hasattr(v, "pk") else v) for v in values or []})


def _clean(
    *, brand_id: int, kind: Any, name: Any, description: Any, tiers: Any, segment: Any
) -> tuple[str, str, str, list[int], Segment | None]:
    """Check a benefit's fields; raise InvalidInput with every field's error."""
    fields: dict[str, list[str]] = {}
    if kind not in BenefitKind.values:
        fields.setdefault("kind", []).append(_("Choose a kind of benefit."))
    name = " ".join(str(name or "").split())
    if not name:
        fields.setdefault("name", []).append(_("A benefit needs a name."))
    elif len(name) > 120:
        fields.setdefault("name", []).append(_("At most 120 characters."))
    description = str(description or "").strip()
    if len(description) > 2000:
        fields.setdefault("description", []).append(_("At most 2,000 characters."))
    try:
        tier_ids = _ids(tiers)
    except (TypeError, ValueError):
        tier_ids = [-1]
    if tier_ids:
        found = set(Tier.objects.filter(brand_id=brand_id, pk__in=tier_ids).values_list("pk", flat=True))
        if found != set(tier_ids):
            fields.setdefault("tiers", []).append(_("Choose tiers of the brand."))
    if segment is not None and not isinstance(segment, Segment):
        segment = Segment.objects.filter(pk=segment).first() if str(segment).isdigit() else None
        if segment is None:
            fields.setdefault("segment", []).append(_("Choose a segment of the brand."))
    if isinstance(segment, Segment):
        if segment.brand_id != brand_id:
            fields.setdefault("segment", []).append(_("Choose a segment of the brand."))
            segment = None
        elif segment.status != JobStatus.DONE:
            fields.setdefault("segment", []).append(
                _("This segment is not materialised yet (%(status)s): wait until it is done.")
                % {"status": segment.get_status_display()}
            )
    if not tier_ids and segment is None and "segment" not in fields:
        fields.setdefault("tiers", []).append(_("Choose tiers, a segment, or both."))
    if fields:
        raise InvalidInput(
            "invalid_benefit",
            _("Please correct the benefit: %(fields)s.") % {"fields": ", ".join(fields)},
            fields=fields,
        )
    return kind, name, description, tier_ids, segment


def _snapshot(benefit: Benefit) -> dict:
    data = audit.snapshot(benefit)
    data["tiers"] = sorted(benefit.tiers.values_list("pk", flat=True))
    return data


def create_benefit(
    *,
    campaign: Campaign,
    kind: str,
    name: str,
    description: str = "",
    tiers: Iterable[Any] = (),
    segment: Segment | int | None = None,
) -> Benefit:
    """A new benefit of a draft campaign for `tiers` and/or a materialised `segment` of the
    campaign's brand (a member qualifies by either). Audited."""
    kind, name, description, tier_ids, segment = _clean(
        brand_id=campaign.brand_id,
        kind=kind,
        name=name,
        description=description,
        tiers=tiers,
        segment=segment,
    )
    with transaction.atomic():
        locked = Campaign.objects.select_for_update().get(pk=campaign.pk)
        _draft_only(locked)
        benefit = Benefit.objects.create(
            brand_id=campaign.brand_id,
            campaign=locked,
            kind=kind,
            name=name,
            description=description,
            segment=segment,
        )
        benefit.tiers.set(tier_ids)
        audit.record(AuditAction.CREATE, benefit, after=_snapshot(benefit))
    return benefit


def update_benefit(
    *,
    benefit: Benefit,
    kind: str,
    name: str,
    description: str = "",
    tiers: Iterable[Any] = (),
    segment: Segment | int | None = None,
) -> Benefit:
    """Change a benefit of a draft campaign (every field, as create). Audited when
    something changed."""
    kind, name, description, tier_ids, segment = _clean(
        brand_id=benefit.brand_id, kind=kind, name=name, description=description, tiers=tiers, segment=segment
    )
    with transaction.atomic():
        _draft_only(Campaign.objects.select_for_update().get(pk=benefit.campaign_id))
        locked = Benefit.objects.select_for_update().get(pk=benefit.pk)
        before = _snapshot(locked)
        locked.kind, locked.name, locked.description = kind, name, description
        locked.segment = segment
        locked.save(update_fields=["kind", "name", "description", "segment"])
        locked.tiers.set(tier_ids)
        after = _snapshot(locked)
        if after != before:
            audit.record(AuditAction.UPDATE, locked, before=before, after=after)
    return locked


def delete_benefit(*, benefit: Benefit) -> None:
    """Remove a benefit of a draft campaign. Audited. A repeat (already gone) does nothing."""
    with transaction.atomic():
        _draft_only(Campaign.objects.select_for_update().get(pk=benefit.campaign_id))
        locked = Benefit.objects.select_for_update().filter(pk=benefit.pk).first()
        if locked is None:
            return
        before = _snapshot(locked)
        audit.record(
            AuditAction.DELETE, locked, before=before, message=f"benefit deleted ({locked.name})"[:255]
        )
        locked.delete()


def freeze_for_campaign(*, campaign: Campaign) -> int:
    """Copy each segment benefit's segment members into BenefitMember (set frozen_at and
    frozen_size; audited "segment frozen for campaign ..."). Called by the campaign's publish
    inside its transaction; safe to call twice (a frozen benefit is left as it is). Raises
    Conflict when a benefit's segment is not materialised. Returns the members copied."""
    copied = 0
    with transaction.atomic():
        benefits = list(
            Benefit.objects.select_for_update()
            .filter(campaign_id=campaign.pk, segment__isnull=False, frozen_at__isnull=True)
            .order_by("id")
        )
        for benefit in benefits:
            # the segment's row lock: a materialisation in progress finishes first, and none
            # starts replacing its members while they are copied
            segment = Segment.objects.select_for_update().get(pk=benefit.segment_id)
            if segment.status != JobStatus.DONE or segment.brand_id != benefit.brand_id:
                raise Conflict(
                    "segment_not_materialised",
                    _(
                        "The segment “%(segment)s” of the benefit “%(benefit)s” is not materialised "
                        "(%(status)s): materialise it, then publish again."
                    )
                    % {
                        "segment": segment.name,
                        "benefit": benefit.name,
                        "status": segment.get_status_display(),
                    },
                )
            size = _copy_members(benefit, segment)
            now = timezone.now()
            before = {"frozen_at": None, "frozen_size": None}
            Benefit.objects.filter(pk=benefit.pk).update(frozen_at=now, frozen_size=size)
            benefit.frozen_at, benefit.frozen_size = now, size
            audit.record(
                AuditAction.UPDATE,
                benefit,
                before=before,
                after={"frozen_at": now.isoformat(), "frozen_size": size, "segment": segment.pk},
                message=(
                    f"segment frozen for campaign {campaign.name} (#{campaign.pk}): "
                    f"segment {segment.name} (#{segment.pk}), {size} members"
                )[:255],
            )
            copied += size
    return copied


def _copy_members(benefit: Benefit, segment: Segment) -> int:
    """INSERT ... SELECT the segment's members, one member-id range per statement."""
    BenefitMember.objects.filter(benefit_id=benefit.pk).delete()
    entries = SegmentMember.objects.filter(segment_id=segment.pk)
    bounds = entries.aggregate(lo=Min("member_id"), hi=Max("member_id"))
    if bounds["lo"] is None:
        return 0
    target = BenefitMember._meta.db_table
    source = SegmentMember._meta.db_table
    size, lo, top = 0, bounds["lo"], bounds["hi"] + 1
    with connection.cursor() as cursor:
        while lo < top:
            hi = min(lo + FREEZE_CHUNK, top)
            cursor.execute(
                f"INSERT INTO {target} (brand_id, benefit_id, member_id) "
                f"SELECT %s, %s, member_id FROM {source} WHERE segment_id = %s AND member_id >= %s "
                f"AND member_id < %s",
                [benefit.brand_id, benefit.pk, segment.pk, lo, hi],
            )
            size += max(cursor.rowcount, 0)
            lo = hi
    return size
