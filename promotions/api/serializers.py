"""Serializers of the promotions partner API: campaigns (with phases and stores), coupon
templates (with remaining stock), coupons (status, redemption), and the claim / redeem
inputs. Inputs are strict (unknown fields are an error); references resolve only among the
token's brand's rows, so another brand's template, member or store is "does not exist"."""

from __future__ import annotations

from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from members.models import Member
from retail.api.base import ScopedPrimaryKeyRelatedField, ScopedSlugRelatedField, StrictSerializer
from retail.models import Store

from ..models import Campaign, CampaignPhase, Coupon, CouponTemplate
from ..services import coupons as coupon_services


class PhaseSerializer(serializers.ModelSerializer):
    """One phase; `entered_at` / `left_at` are set when the schedule moved the campaign."""

    class Meta:
        model = CampaignPhase
        fields = ["kind", "starts_at", "ends_at", "entered_at", "left_at"]
        read_only_fields = fields


class CampaignStoreSerializer(serializers.ModelSerializer):
    class Meta:
        model = Store
        fields = ["id", "code", "name"]
        read_only_fields = fields


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign with its phases (in time order) and participating stores."""

    phases = serializers.SerializerMethodField()
    stores = serializers.SerializerMethodField()

    class Meta:
        model = Campaign
        fields = [
            "id",
            "name",
            "description",
            "status",
            "current_phase",
            "switches_shelves",
            "published_at",
            "phases",
            "stores",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(PhaseSerializer(many=True))
    def get_phases(self, campaign: Campaign):
        return PhaseSerializer(
            getattr(campaign, "ordered_phases", None) or campaign.phases.all(), many=True
        ).data

    @extend_schema_field(CampaignStoreSerializer(many=True))
    def get_stores(self, campaign: Campaign):
        stores = getattr(campaign, "ordered_stores", None)
        if stores is None:
            stores = campaign.stores.order_by("id")
        return CampaignStoreSerializer(stores, many=True).data


class CouponTemplateSerializer(serializers.ModelSerializer):
    """A template: what its coupons are worth, who may claim them, where they are valid, and
    how many are left (`remaining` = `total_stock` − `claimed`; offline blocks count as
    claimed until their unused coupons return)."""

    remaining = serializers.IntegerField(read_only=True)
    description_text = serializers.SerializerMethodField(help_text="e.g. “¥50 off orders of ¥300 or more”.")
    tiers = serializers.SerializerMethodField()
    valid_stores = serializers.SerializerMethodField()

    class Meta:
        model = CouponTemplate
        fields = [
            "id",
            "campaign",
            "name",
            "description_text",
            "kind",
            "amount_off",
            "percent_off",
            "threshold",
            "total_stock",
            "claimed",
            "remaining",
            "per_member_limit",
            "tiers",
            "channel",
            "valid_stores",
            "valid_from",
            "valid_until",
            "stacking",
            "is_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_description_text(self, template: CouponTemplate) -> str:
        return coupon_services.describe(template)

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_tiers(self, template: CouponTemplate):
        return sorted(t.pk for t in template.tiers.all())

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_valid_stores(self, template: CouponTemplate):
        return sorted(s.pk for s in template.valid_stores.all())


class RedemptionOutSerializer(serializers.Serializer):
    store = serializers.IntegerField(source="store_id", allow_null=True)
    store_code = serializers.CharField(source="store.code", allow_null=True, default=None)
    source = serializers.CharField()
    order_ref = serializers.CharField()
    order_subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    redeemed_at = serializers.DateTimeField()


class CouponSerializer(serializers.ModelSerializer):
    """A coupon a member holds: its status, template, member, and where and when it was
    redeemed (null until then)."""

    template_name = serializers.CharField(source="template.name", read_only=True)
    description_text = serializers.SerializerMethodField()
    valid_from = serializers.DateTimeField(source="template.valid_from", read_only=True)
    valid_until = serializers.DateTimeField(source="template.valid_until", read_only=True)
    redemption = serializers.SerializerMethodField()

    class Meta:
        model = Coupon
        fields = [
            "code",
            "status",
            "template",
            "template_name",
            "description_text",
            "member",
            "claim_via",
            "claimed_at",
            "valid_from",
            "valid_until",
            "redeemed_at",
            "redemption",
        ]
        read_only_fields = fields

    def get_description_text(self, coupon: Coupon) -> str:
        return coupon_services.describe(coupon.template)

    @extend_schema_field(RedemptionOutSerializer(allow_null=True))
    def get_redemption(self, coupon: Coupon):
        redemption = getattr(coupon, "redemption", None) if coupon.status == "redeemed" else None
        return RedemptionOutSerializer(redemption).data if redemption is not None else None


class ClaimInSerializer(StrictSerializer):
    """Give a member one coupon of a template: the member by id or by exact phone."""

    # the campaign comes along: the claim checks it is live (one query less on the hot path)
    template = ScopedPrimaryKeyRelatedField(queryset=CouponTemplate.objects.select_related("campaign"))
    member = ScopedPrimaryKeyRelatedField(queryset=Member.objects.all(), required=False)
    member_phone = serializers.CharField(max_length=32, required=False)
    store = ScopedPrimaryKeyRelatedField(
        queryset=Store.objects.all(), required=False, allow_null=True, help_text="Where it was handed out."
    )

    def validate(self, attrs):
        from members.selectors import member_by_phone

        phone = attrs.pop("member_phone", None)
        if phone:
            found = member_by_phone(brand_id=self.context["request"].principal.brand_id, phone=phone)
            if found is None:
                raise serializers.ValidationError({"member_phone": ["No member with this phone."]})
            if attrs.get("member") not in (None, found):
                raise serializers.ValidationError({"member_phone": ["Contradicts 'member'."]})
            attrs["member"] = found
        if attrs.get("member") is None:
            raise serializers.ValidationError({"member": ["Give member (id) or member_phone."]})
        return attrs


class RedeemInSerializer(StrictSerializer):
    """Redeem the coupon on an order in a store (by id or by store code)."""

    store = ScopedPrimaryKeyRelatedField(queryset=Store.objects.all(), required=False)
    store_code = ScopedSlugRelatedField(slug_field="code", queryset=Store.objects.all(), required=False)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    order_ref = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    member = ScopedPrimaryKeyRelatedField(
        queryset=Member.objects.all(),
        required=False,
        allow_null=True,
        help_text="The member at the till: the coupon must be theirs (else not found).",
    )

    def validate(self, attrs):
        by_code = attrs.pop("store_code", None)
        if by_code is not None:
            if attrs.get("store") not in (None, by_code):
                raise serializers.ValidationError({"store_code": ["Contradicts 'store'."]})
            attrs["store"] = by_code
        if attrs.get("store") is None:
            raise serializers.ValidationError({"store": ["Give store (id) or store_code."]})
        return attrs


class RedeemedSerializer(serializers.Serializer):
    """The answer to a redemption: what to take off the order."""

    code = serializers.CharField()
    status = serializers.CharField()
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    store = serializers.IntegerField()
    order_ref = serializers.CharField()
    redeemed_at = serializers.DateTimeField()


class PhaseWindowInSerializer(StrictSerializer):
    starts_at = serializers.DateTimeField()
    ends_at = serializers.DateTimeField()


class PhasesInSerializer(StrictSerializer):
    """Any of the four phases, each {starts_at, ends_at}; in order, none overlapping."""

    warmup = PhaseWindowInSerializer(required=False, allow_null=True)
    presale = PhaseWindowInSerializer(required=False, allow_null=True)
    main = PhaseWindowInSerializer(required=False, allow_null=True)
    aftersale = PhaseWindowInSerializer(required=False, allow_null=True)


class CampaignInSerializer(StrictSerializer):
    """A draft campaign: name, participating stores (ids of the brand's stores), phases."""

    name = serializers.CharField(max_length=120)
    description = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)
    switches_shelves = serializers.BooleanField(required=False, default=True)
    stores = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=5000
    )
    phases = PhasesInSerializer(required=False)


class CampaignUpdateSerializer(StrictSerializer):
    """Any of the fields; stores, shelf switch and phases change only while draft."""

    name = serializers.CharField(max_length=120, required=False)
    description = serializers.CharField(required=False, allow_blank=True, max_length=4000)
    switches_shelves = serializers.BooleanField(required=False)
    stores = serializers.ListField(
        child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=5000, required=False
    )
    phases = PhasesInSerializer(required=False)
