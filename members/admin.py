"""Member admin: masked PII only, exact-phone search through the blind index.

The admin never decrypts: lists and forms show the masked phone and name; a new phone or
name is typed into a write-only field and stored through `Member.set_phone` / `set_name`.
A new member joins through `members.services.join_member` (number, audit, event); changes
are audited here and announced as `member.updated`, as the service does for its fields.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from retail.admin import AuditedAdmin, BrandBoundAdmin, ReadOnlyLedgerAdmin, adopt
from retail.errors import DomainError

from . import pii, services
from .choices import ConsentSource
from .models import (
    ConsentRecord,
    Member,
    MemberImport,
    MemberImportError,
    MemberProfile,
    MemberTag,
    PointsEntry,
    ProfileRun,
    Segment,
    SegmentMember,
    Tag,
    Tier,
)
from .selectors import phone_hash_or_none


class MemberAdminForm(forms.ModelForm):
    phone = forms.CharField(
        label=_("phone"),
        max_length=32,
        required=False,
        help_text=_("Stored encrypted. On change, leave blank to keep the current number."),
    )
    name = forms.CharField(
        label=_("name"),
        max_length=60,
        required=False,
        help_text=_("Stored encrypted. On change, leave blank to keep the current name."),
    )

    class Meta:
        model = Member
        fields = [
            "brand",
            "phone",
            "name",
            "external_id",
            "source",
            "store",
            "guide",
            "consent_call",
            "consent_sms",
            "consent_chat",
            "joined_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        adding = self.instance.pk is None
        self.fields["phone"].required = adding
        if "joined_at" in self.fields:
            self.fields["joined_at"].required = False
        # never prefilled: the clear value exists nowhere but in the operator's head
        self.initial.pop("phone", None)
        self.initial.pop("name", None)

    def clean_phone(self) -> str:
        raw = self.cleaned_data.get("phone", "")
        if not raw:
            return ""
        try:
            return pii.normalize_phone(raw)
        except pii.InvalidPhone:
            raise forms.ValidationError(_("Not a valid phone number."))

    def clean_external_id(self):
        return self.cleaned_data.get("external_id") or None

    def clean(self):
        cleaned = super().clean()
        brand = cleaned.get("brand") or (self.instance.brand if self.instance.brand_id else None)
        if brand is None:
            return cleaned
        others = Member.objects.filter(brand=brand).exclude(pk=self.instance.pk)
        phone = cleaned.get("phone")
        if phone and others.filter(phone_hash=pii.blind_index(phone)).exists():
            self.add_error("phone", _("A member of this brand already has this phone."))
        external_id = cleaned.get("external_id")
        if external_id and "brand" not in self.fields and others.filter(external_id=external_id).exists():
            self.add_error("external_id", _("Already used in this brand."))
        store = cleaned.get("store")
        if store is not None and store.brand_id != brand.pk:
            self.add_error("store", _("The store belongs to another brand."))
        return cleaned


@admin.register(Member)
class MemberAdmin(BrandBoundAdmin, AuditedAdmin):
    form = MemberAdminForm
    list_display = ["member_no", "brand", "phone_masked", "name_masked", "source", "store", "joined_at"]
    list_select_related = ["brand", "store"]
    list_filter = ["source", "brand"]
    search_fields = ["=member_no", "=external_id"]  # and the exact phone, below
    search_help_text = _("Exact phone number, member number or external id.")
    autocomplete_fields = ["brand"]
    raw_id_fields = ["store", "guide", "tier"]
    readonly_fields = [
        "member_no",
        "phone_masked",
        "name_masked",
        "points_balance",
        "lifetime_points",
        "created_at",
        "updated_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "tier"] if obj is not None else fields

    def get_fieldsets(self, request, obj=None):
        identity = ["brand", "member_no", "phone_masked", "phone", "name_masked", "name", "external_id"]
        if obj is None:
            identity = [f for f in identity if f not in ("member_no", "phone_masked", "name_masked")]
        fieldsets = [
            (None, {"fields": identity}),
            (_("Recruitment"), {"fields": ["source", "store", "guide", "joined_at"]}),
            (_("Consent"), {"fields": ["consent_call", "consent_sms", "consent_chat"]}),
        ]
        if obj is not None:  # kept by the points ledger; read only
            fieldsets.append(
                (_("Tier and points"), {"fields": ["tier", "points_balance", "lifetime_points"]})
            )
        return fieldsets

    def get_search_results(self, request, queryset, search_term):
        """Exact phone through the blind index (no decryption), or member number / external id."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(member_no=term) | Q(external_id=term)
        digest = phone_hash_or_none(term)
        if digest:
            match |= Q(phone_hash=digest)
        return queryset.filter(match), False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if not change:
            member = services.join_member(
                brand_id=obj.brand_id,
                phone=data["phone"],
                name=data.get("name", ""),
                external_id=obj.external_id,
                source=obj.source,
                store=obj.store,
                guide=obj.guide,
                joined_at=obj.joined_at or timezone.now(),
                consent_call=obj.consent_call,
                consent_sms=obj.consent_sms,
                consent_chat=obj.consent_chat,
                consent_source=ConsentSource.ADMIN,
            )
            adopt(obj, member)
            return
        changes = {name: getattr(obj, name) for name in form.changed_data if name not in ("phone", "name")}
        if data.get("phone"):
            changes["phone"] = data["phone"]
        if data.get("name"):
            changes["name"] = data["name"]
        adopt(obj, services.update_member(member=obj, consent_source=ConsentSource.ADMIN, **changes))


class TierAdminForm(forms.ModelForm):
    class Meta:
        model = Tier
        fields = ["brand", "code", "name", "threshold_points", "rank"]

    def clean(self):
        cleaned = super().clean()
        brand = cleaned.get("brand") or (self.instance.brand if self.instance.brand_id else None)
        code = cleaned.get("code") or self.instance.code
        if brand is None or cleaned.get("threshold_points") is None or cleaned.get("rank") is None:
            return cleaned
        others = list(Tier.objects.filter(brand=brand).exclude(code=code))
        try:
            services.check_tier_order(
                others, threshold_points=cleaned["threshold_points"], rank=cleaned["rank"]
            )
        except DomainError as exc:
            raise forms.ValidationError(exc.message)
        return cleaned


@admin.register(Tier)
class TierAdmin(BrandBoundAdmin):
    """Tiers are defined through `define_tier` (audited; members are re-tiered after)."""

    form = TierAdminForm
    list_display = ["brand", "rank", "code", "name", "threshold_points"]
    list_select_related = ["brand"]
    list_filter = ["brand"]
    autocomplete_fields = ["brand"]
    search_fields = ["=code", "name"]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        return [*fields, "code"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        tier = services.define_tier(
            brand_id=obj.brand_id,
            code=obj.code,
            name=obj.name,
            threshold_points=obj.threshold_points,
            rank=obj.rank,
        )
        adopt(obj, tier)


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "created_at",
        "brand",
        "member",
        "kind",
        "points",
        "balance_after",
        "reason",
        "actor_label",
    ]
    list_select_related = ["brand", "member"]
    list_filter = ["kind", "brand"]
    raw_id_fields = ["member", "order", "actor"]


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyLedgerAdmin):
    list_display = ["created_at", "brand", "member", "channel", "granted", "source", "actor_label"]
    list_select_related = ["brand", "member"]
    list_filter = ["channel", "granted", "source", "brand"]
    raw_id_fields = ["member", "actor"]


# Computed and job rows: written by the member pages' services (tags, segments, imports,
# profile runs); the admin shows them for support, read-only.


@admin.register(MemberProfile)
class MemberProfileAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "member",
        "brand",
        "r_score",
        "f_score",
        "m_score",
        "frequency",
        "monetary",
        "computed_at",
    ]
    list_select_related = ["brand", "member"]
    list_filter = ["brand", "r_score", "f_score", "m_score"]
    raw_id_fields = ["member", "last_store"]


@admin.register(ProfileRun)
class ProfileRunAdmin(ReadOnlyLedgerAdmin):
    list_display = ["created_at", "brand", "status", "progress", "profiles", "finished_at"]
    list_select_related = ["brand"]
    list_filter = ["status", "brand"]


@admin.register(Tag)
class TagAdmin(ReadOnlyLedgerAdmin):
    list_display = ["name", "brand", "created_at"]
    list_select_related = ["brand"]
    list_filter = ["brand"]
    search_fields = ["=name"]


@admin.register(MemberTag)
class MemberTagAdmin(ReadOnlyLedgerAdmin):
    list_display = ["member", "tag", "source", "created_at"]
    list_select_related = ["member", "tag"]
    list_filter = ["source", "brand"]
    raw_id_fields = ["member", "tag"]


@admin.register(Segment)
class SegmentAdmin(ReadOnlyLedgerAdmin):
    list_display = ["name", "brand", "channel", "status", "size", "materialised_at"]
    list_select_related = ["brand"]
    list_filter = ["status", "brand"]
    search_fields = ["=name"]


@admin.register(SegmentMember)
class SegmentMemberAdmin(ReadOnlyLedgerAdmin):
    list_display = ["segment", "member"]
    list_select_related = ["segment", "member"]
    list_filter = ["brand"]
    raw_id_fields = ["segment", "member"]


@admin.register(MemberImport)
class MemberImportAdmin(ReadOnlyLedgerAdmin):
    list_display = [
        "original_name",
        "brand",
        "stage",
        "rows_total",
        "rows_done",
        "rows_invalid",
        "created_at",
    ]
    list_select_related = ["brand"]
    list_filter = ["stage", "brand"]


@admin.register(MemberImportError)
class MemberImportErrorAdmin(ReadOnlyLedgerAdmin):
    list_display = ["member_import", "row_number", "errors"]
    list_select_related = ["member_import"]
    raw_id_fields = ["member_import"]
