"""Rollup tables of the live dashboards. Written only by `retail.dashboards.rollups`
(upserts, one statement per event); never edited by hand."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..tenancy import TenantQuerySet

__all__ = ["DashboardSeq", "DeviceLiveStatus", "FoldedEvent", "GuideDay", "StoreDay", "StoreMinute"]

MONEY = {"max_digits": 14, "decimal_places": 2}

# member sources with their own column; every other source counts as "other"
MEMBER_SOURCE_COLUMNS = {
    "store": "members_store",
    "cloud_shelf": "members_cloud_shelf",
    "sample_dispenser": "members_sample_dispenser",
}


class RollupRow(models.Model):
    """The counters every rollup row has (a store's minute, a store's day)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(
        "retail.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    orders = models.PositiveIntegerField(_("orders"), default=0)
    gmv = models.DecimalField(_("GMV"), **MONEY, default=Decimal("0"))
    items = models.PositiveIntegerField(_("items"), default=0)
    members_store = models.PositiveIntegerField(_("members recruited in store"), default=0)
    members_cloud_shelf = models.PositiveIntegerField(_("members recruited by cloud shelf"), default=0)
    members_sample_dispenser = models.PositiveIntegerField(
        _("members recruited by sample dispenser"), default=0
    )
    members_other = models.PositiveIntegerField(_("members recruited otherwise"), default=0)
    scans = models.PositiveIntegerField(_("cloud-shelf scans"), default=0)
    coupons_claimed = models.PositiveIntegerField(_("coupons claimed"), default=0)
    coupons_redeemed = models.PositiveIntegerField(_("coupons redeemed"), default=0)
    incidents_opened = models.PositiveIntegerField(_("incidents opened"), default=0)
    incidents_resolved = models.PositiveIntegerField(_("incidents resolved"), default=0)
    last_event_id = models.BigIntegerField(_("last event folded"), default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True


class StoreMinute(RollupRow):
    """What happened in one store in one minute (store empty: orders without a store)."""

    minute = models.DateTimeField(_("minute"))

    class Meta:
        ordering = ["brand_id", "store_id", "minute"]
        verbose_name = _("store minute rollup")
        verbose_name_plural = _("store minute rollups")
        constraints = [
            # NULLS NOT DISTINCT: the store-less row of a minute is one row too (PostgreSQL 15)
            models.UniqueConstraint(
                fields=["brand", "store", "minute"], name="storeminute_unique", nulls_distinct=False
            ),
        ]
        indexes = [models.Index(fields=["brand", "minute"], name="storeminute_brand_minute")]

    def __str__(self) -> str:
        return f"{self.store_id}@{self.minute:%Y-%m-%d %H:%M}"


class StoreDay(RollupRow):
    """A store's day (local date), upserted in the same statement as its minute rows: HQ's
    command centre reads one row per store instead of summing a day of minutes."""

    day = models.DateField(_("day"))

    class Meta:
        ordering = ["brand_id", "day", "store_id"]
        verbose_name = _("store day rollup")
        verbose_name_plural = _("store day rollups")
        constraints = [
            # also serves HQ's read: every store of a brand on a day
            models.UniqueConstraint(
                fields=["brand", "day", "store"], name="storeday_unique", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return f"{self.store_id}@{self.day}"


class FoldedEvent(models.Model):
    """The ids of the events already folded: a redelivered event is folded once."""

    TENANT_BRAND_FIELD = "brand"

    event_id = models.BigIntegerField(_("event"), primary_key=True)
    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    folded_at = models.DateTimeField(_("folded at"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-event_id"]
        verbose_name = _("folded event")
        verbose_name_plural = _("folded events")
        indexes = [models.Index(fields=["folded_at"], name="foldedevent_folded_at")]

    def __str__(self) -> str:
        return str(self.event_id)


class DashboardSeq(models.Model):
    """The sequence number of a dashboard's deltas: `key` "hq" (the brand's command
    centre) or "s<store id>". Bumped in the statement that folds an event, so a snapshot
    that reads it with the rollups knows which deltas it already contains."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(_("dashboard"), max_length=24)
    seq = models.BigIntegerField(_("sequence"), default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "key"]
        verbose_name = _("dashboard sequence")
        verbose_name_plural = _("dashboard sequences")
        constraints = [models.UniqueConstraint(fields=["brand", "key"], name="dashboardseq_unique")]

    def __str__(self) -> str:
        return f"{self.key}: {self.seq}"


class GuideDay(models.Model):
    """A guide's sales in a store on a local day (orders attributed to the guide), for the
    store's leaderboard; upserted in the statement that folds the order."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(
        "retail.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    day = models.DateField(_("day"))
    orders = models.PositiveIntegerField(_("orders"), default=0)
    gmv = models.DecimalField(_("GMV"), **MONEY, default=Decimal("0"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "day", "store_id", "-gmv"]
        verbose_name = _("guide day rollup")
        verbose_name_plural = _("guide day rollups")
        constraints = [
            # also serves the leaderboard's read: a store's guides on a day
            models.UniqueConstraint(
                fields=["brand", "store", "day", "guide"], name="guideday_unique", nulls_distinct=False
            ),
        ]

    def __str__(self) -> str:
        return f"{self.guide_id}@{self.store_id} {self.day}: {self.gmv}"


class DeviceLiveStatus(models.Model):
    """Each device's last known state, from device.online / device.offline events (the
    core does not read devices/)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    device_id = models.BigIntegerField(_("device"), primary_key=True)
    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(
        "retail.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    online = models.BooleanField(_("online"), default=False)
    changed_at = models.DateTimeField(_("changed at"))

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "store_id", "device_id"]
        verbose_name = _("device live status")
        verbose_name_plural = _("device live statuses")
        indexes = [models.Index(fields=["brand", "store"], name="devicelive_brand_store")]

    def __str__(self) -> str:
        return f"{self.device_id}: {'online' if self.online else 'offline'}"


class CampaignLive(models.Model):
    """A campaign's current phase and its next change, as HQ's command centre shows it
    (with a countdown): folded from `campaign.published` / `campaign.phase_changed`
    payloads, so the core never reads promotions/. A late, older event changes nothing."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    campaign_id = models.BigIntegerField(_("campaign"))
    name = models.CharField(_("name"), max_length=120)
    phase = models.CharField(_("phase"), max_length=12, blank=True)  # "" before it starts; "ended"
    phase_ends_at = models.DateTimeField(_("phase ends at"), null=True, blank=True)
    next_phase = models.CharField(_("next phase"), max_length=12, blank=True)
    next_at = models.DateTimeField(_("next change at"), null=True, blank=True)
    last_event_id = models.BigIntegerField(_("last event folded"), default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "next_at"]
        verbose_name = _("campaign live status")
        verbose_name_plural = _("campaign live statuses")
        constraints = [
            models.UniqueConstraint(fields=["brand", "campaign_id"], name="campaignlive_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.name}: {self.phase or '-'}"


class IncidentLive(models.Model):
    """An incident as HQ's feed shows it (title, store, severity, status), folded from
    `incident.opened` / `incident.updated` payloads; a late, older event changes nothing."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey(
        "retail.Store", on_delete=models.CASCADE, null=True, blank=True, related_name="+", db_index=False
    )
    incident_id = models.BigIntegerField(_("incident"))
    title = models.CharField(_("title"), max_length=200, blank=True)
    kind = models.CharField(_("kind"), max_length=20, blank=True)
    severity = models.CharField(_("severity"), max_length=12, blank=True)
    status = models.CharField(_("status"), max_length=12, blank=True)
    opened_at = models.DateTimeField(_("opened at"))
    last_event_id = models.BigIntegerField(_("last event folded"), default=0)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "-opened_at"]
        verbose_name = _("incident live status")
        verbose_name_plural = _("incident live statuses")
        constraints = [
            models.UniqueConstraint(fields=["brand", "incident_id"], name="incidentlive_unique"),
        ]
        indexes = [models.Index(fields=["brand", "status", "opened_at"], name="incidentlive_feed")]

    def __str__(self) -> str:
        return f"{self.incident_id}: {self.title}"
