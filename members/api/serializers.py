from rest_framework import serializers

from retail.api.base import ScopedPrimaryKeyRelatedField, StrictSerializer
from retail.models import Store

from ..choices import MemberSource
from ..models import Member


class MemberSerializer(serializers.ModelSerializer):
    """A member as partners see it: the phone masked, never in clear."""

    phone = serializers.CharField(source="phone_masked", read_only=True)
    name = serializers.CharField(source="name_masked", read_only=True)

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
