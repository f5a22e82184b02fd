from rest_framework import serializers

from retail.api.base import ScopedPrimaryKeyRelatedField, StrictSerializer
from retail.models import Store

from ..choices import ConsentChannel, MemberSource
from ..models import ConsentRecord, Member, PointsEntry, Tier


class MemberSerializer(serializers.ModelSerializer):
    """A member as partners see it: the phone masked, never in clear."""

    phone = serializers.CharField(source="phone_masked", read_only=True)
    name = serializers.CharField(source="name_masked", read_only=True)
    tier = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Member
        fields = [
            "id",
            "member_no",
            "external_id",
            "phone",
            "name",
            "consent_call",
            "consent_sms",
            "consent_chat",
            "tier",
            "points_balance",
            "lifetime_points",
            "source",
            "store",
            "guide",
            "joined_at",
            "created_at",
        ]
        read_only_fields = fields


class MemberInSerializer(StrictSerializer):
    phone = serializers.CharField(max_length=32)
    name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    external_id = serializers.CharField(max_length=64, required=False, allow_null=True)
    source = serializers.ChoiceField(choices=MemberSource.choices, default=MemberSource.PARTNER)
    store = ScopedPrimaryKeyRelatedField(queryset=Store.objects.all(), required=False, allow_null=True)
    consent_call = serializers.BooleanField(default=False)
    consent_sms = serializers.BooleanField(default=False)
    consent_chat = serializers.BooleanField(default=False)
    joined_at = serializers.DateTimeField(required=False)


class MemberUpdateSerializer(StrictSerializer):
    name = serializers.CharField(max_length=60, required=False, allow_blank=True)
    consent_call = serializers.BooleanField(required=False)
    consent_sms = serializers.BooleanField(required=False)
    consent_chat = serializers.BooleanField(required=False)


class PointsEntrySerializer(serializers.ModelSerializer):
    """One line of the points ledger; `points` is signed, `balance_after` the balance it left."""

    class Meta:
        model = PointsEntry
        fields = ["id", "kind", "points", "balance_after", "reason", "order", "actor_label", "created_at"]
        read_only_fields = fields


MAX_ADJUST = 10_000_000


class PointsAdjustInSerializer(StrictSerializer):
    """`adjust` (the default): a signed correction with a reason. `spend`: a redemption of
    `points` (positive), refused with 409 insufficient_points beyond the balance."""

    kind = serializers.ChoiceField(choices=[("adjust", "adjust"), ("spend", "spend")], default="adjust")
    points = serializers.IntegerField(min_value=-MAX_ADJUST, max_value=MAX_ADJUST)
    reason = serializers.CharField(max_length=255, required=False, default="")

    def validate_points(self, value: int) -> int:
        if value == 0:
            raise serializers.ValidationError("Must not be 0.")
        return value

    def validate(self, attrs: dict) -> dict:
        if attrs["kind"] == "spend" and attrs["points"] < 0:
            raise serializers.ValidationError({"points": ["A spend is a positive number of points."]})
        if attrs["kind"] == "adjust" and not attrs["reason"].strip():
            raise serializers.ValidationError({"reason": ["An adjustment needs a reason."]})
        return attrs


class ConsentRecordSerializer(serializers.ModelSerializer):
    """One consent statement: channel, granted or withdrawn, where it came from."""

    class Meta:
        model = ConsentRecord
        fields = ["id", "channel", "granted", "source", "actor_label", "created_at"]
        read_only_fields = fields


class ConsentInSerializer(StrictSerializer):
    channel = serializers.ChoiceField(choices=ConsentChannel.choices)
    granted = serializers.BooleanField()


class TierSerializer(serializers.ModelSerializer):
    """A tier of the brand: reached at `threshold_points` lifetime points; higher rank is better."""

    class Meta:
        model = Tier
        fields = ["code", "name", "rank", "threshold_points"]
        read_only_fields = fields
