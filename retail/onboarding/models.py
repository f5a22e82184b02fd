"""Onboarding rows: a store's onboarding (one per store), its steps as they are completed
(with the time each took), and bulk imports of stores from a CSV."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ..tenancy import TenantQuerySet

__all__ = ["OnboardingImport", "OnboardingStep", "StoreOnboarding"]


class StoreOnboarding(models.Model):
    """A store's way to going live: started when the store is created (or the wizard is
    opened), `live_at` when it went live."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.OneToOneField("retail.Store", on_delete=models.CASCADE, related_name="onboarding")
    started_at = models.DateTimeField(_("started at"))
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    live_at = models.DateTimeField(_("went live at"), null=True, blank=True)
    # the first step not done yet ("" once every step is done); kept by the services for HQ's list
    current_step = models.CharField(_("current step"), max_length=32, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["brand_id", "started_at"]
        verbose_name = _("store onboarding")
        verbose_name_plural = _("store onboardings")
        indexes = [models.Index(fields=["brand", "live_at"], name="onboarding_brand_live")]

    def __str__(self) -> str:
        return f"onboarding of store {self.store_id}"


class OnboardingStep(models.Model):
    """One step of a store's onboarding as it went: when it was first worked on, when its
    check passed (`completed_at`), by whom, and what the check saw (`data`)."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    store = models.ForeignKey("retail.Store", on_delete=models.CASCADE, related_name="+", db_index=False)
    key = models.CharField(_("step"), max_length=32)
    started_at = models.DateTimeField(_("started at"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    data = models.JSONField(_("details"), default=dict, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["store_id", "started_at"]
        verbose_name = _("onboarding step")
        verbose_name_plural = _("onboarding steps")
        constraints = [models.UniqueConstraint(fields=["store", "key"], name="onboardingstep_once")]

    def __str__(self) -> str:
        return f"{self.store_id}:{self.key}"


class OnboardingImport(models.Model):
    """A CSV of stores (with their managers and guides) onboarded in bulk by a Celery job:
    progress, counts, and per-row errors ({"row": n, "errors": {...}})."""

    TENANT_BRAND_FIELD = "brand"

    brand = models.ForeignKey("retail.Brand", on_delete=models.CASCADE, related_name="+", db_index=False)
    file_name = models.CharField(_("file"), max_length=200)
    content = models.TextField(editable=False)  # the CSV as uploaded (UTF-8)
    status = models.CharField(_("status"), max_length=12, default="queued")  # queued/running/done/failed
    progress = models.PositiveSmallIntegerField(_("progress (%)"), default=0)
    rows = models.PositiveIntegerField(_("rows"), default=0)
    created = models.PositiveIntegerField(_("stores created"), default=0)
    unchanged = models.PositiveIntegerField(_("stores already there"), default=0)
    failed = models.PositiveIntegerField(_("rows refused"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("store import")
        verbose_name_plural = _("store imports")

    def __str__(self) -> str:
        return self.file_name
