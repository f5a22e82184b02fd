"""Member identity: who a member is, how to reach them, who brought them in."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from retail.models import Brand, Store
from retail.tenancy import TenantQuerySet

from . import pii
from .choices import MemberSource


class Member(models.Model):
    """A brand's member. Phone and name are encrypted; `phone_hash` is the blind index."""

    TENANT_BRAND_FIELD = "brand"
    TENANT_STORE_FIELD = "store"
    TENANT_GUIDE_FIELD = "guide"

    # FK indexes are served by the unique (brand, ...) and composite (x, joined_at) indexes
    brand = models.ForeignKey(Brand, on_delete=models.PROTECT, related_name="members", db_index=False)
    member_no = models.CharField(_("member number"), max_length=32)
    external_id = models.CharField(_("external id"), max_length=64, null=True, blank=True)
    phone_encrypted = models.TextField(editable=False)
    phone_hash = models.CharField(max_length=64, editable=False)
    phone_masked = models.CharField(_("phone"), max_length=20, editable=False)
    name_encrypted = models.TextField(blank=True, editable=False)
    name_masked = models.CharField(_("name"), max_length=40, blank=True, editable=False)
    consent_call = models.BooleanField(_("consents to calls"), default=False)
    consent_sms = models.BooleanField(_("consents to SMS"), default=False)
    consent_chat = models.BooleanField(_("consents to work-chat messages"), default=False)
    source = models.CharField(
        _("source"), max_length=20, choices=MemberSource.choices, default=MemberSource.STORE
    )
    store = models.ForeignKey(
        Store,
        verbose_name=_("recruiting store"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        db_index=False,
    )
    guide = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recruiting guide"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        db_index=False,
    )
    joined_at = models.DateTimeField(_("joined at"))
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantQuerySet.as_manager()

    class Meta:
        ordering = ["-joined_at", "-id"]
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [
            models.UniqueConstraint(fields=["brand", "phone_hash"], name="member_phone_unique"),
            models.UniqueConstraint(fields=["brand", "member_no"], name="member_no_unique"),
            models.UniqueConstraint(
                fields=["brand", "external_id"],
                condition=Q(external_id__isnull=False),
                name="member_external_id_unique",
            ),
        ]
        indexes = [
            models.Index(fields=["store", "joined_at"]),
            models.Index(fields=["guide", "joined_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.member_no} {self.phone_masked}"

    @property
    def display_name(self) -> str:
        return self.name_masked or self.member_no

    def set_phone(self, raw: str) -> None:
        phone = pii.normalize_phone(raw)
        self.phone_encrypted = pii.encrypt(phone)
        self.phone_hash = pii.blind_index(phone)
        self.phone_masked = pii.mask_phone(phone)

    def set_name(self, name: str) -> None:
        name = (name or "").strip()
        self.name_encrypted = pii.encrypt(name)
        self.name_masked = pii.mask_name(name)
