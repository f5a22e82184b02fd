import factory
from django.utils import timezone

from members.models import Member
from retail.tests.factories import BrandFactory


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    brand = factory.SubFactory(BrandFactory)
    # "F": factory numbers never collide with the service's "M" sequence (next_member_no)
    member_no = factory.Sequence(lambda n: f"F{n:08d}")
    joined_at = factory.LazyFunction(timezone.now)
    consent_sms = True

    @factory.lazy_attribute_sequence
    def phone_encrypted(self, n):
        return ""

    @classmethod
    def _create(cls, model_class, *args, phone=None, name="王小明", **kwargs):
        member = model_class(*args, **kwargs)
        member.set_phone(phone or f"139{member.member_no[-8:]}")
        member.set_name(name)
        member.save()
        return member
