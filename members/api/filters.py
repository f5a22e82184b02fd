import django_filters

from retail.api.base import IdFilter

from .. import pii
from ..models import Member
from ..selectors import phone_hash_or_none


class MemberFilter(django_filters.FilterSet):
    phone = django_filters.CharFilter(method="filter_phone", label="Exact phone number")
    name = django_filters.CharFilter(method="filter_name", label="Exact full name (any case or width)")
    # By id, not ModelChoiceFilter: another brand's store id must read like an unknown one.
    store = IdFilter(field_name="store_id")

    class Meta:
        model = Member
        fields = {"member_no": ["exact"], "external_id": ["exact"], "source": ["exact"]}

    def filter_phone(self, queryset, name, value):
        digest = phone_hash_or_none(value)
        return queryset.filter(phone_hash=digest) if digest else queryset.none()

    def filter_name(self, queryset, name, value):
        digest = pii.name_index(value)
        return queryset.filter(name_hash=digest) if digest else queryset.none()
