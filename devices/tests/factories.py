import factory

from devices.choices import DeviceKind
from devices.models import Device, DeviceType
from devices.services.registry import new_credential
from retail.tests.factories import BrandFactory, StoreFactory

HEARTBEAT_ONLY = {}
DISPENSE_SCHEMA = {
    "dispensed": {
        "type": "object",
        "properties": {"member": {"type": "integer"}, "count": {"type": "integer", "minimum": 1}},
        "required": ["count"],
    }
}


class DeviceTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DeviceType

    brand = factory.SubFactory(BrandFactory)
    code = factory.Sequence(lambda n: f"type-{n}")
    name = factory.Sequence(lambda n: f"Device type {n}")
    kind = DeviceKind.SAMPLE_DISPENSER
    event_schemas = factory.LazyFunction(lambda: dict(DISPENSE_SCHEMA))
    heartbeat_interval_seconds = 60


class DeviceFactory(factory.django.DjangoModelFactory):
    """A device; its clear credential is on `device.credential` (tests only)."""

    class Meta:
        model = Device

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    device_type = factory.LazyAttribute(lambda o: DeviceTypeFactory(brand=o.brand))
    serial = factory.Sequence(lambda n: f"SN{n:08d}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        prefix, raw, digest = new_credential()
        device = model_class(*args, credential_prefix=prefix, credential_hash=digest, **kwargs)
        device.save()
        device.credential = raw
        return device
