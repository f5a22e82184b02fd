from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = _("Devices")

    def ready(self) -> None:
        from retail import demo, events

        from . import tasks  # noqa: F401  (registers the Celery tasks)
        from .demo import wipe_brand_devices

        demo.brand_wiping.connect(wipe_brand_devices, dispatch_uid="devices-wipe")

        events.register("device.online", "A device sent a heartbeat or events after being offline (or new).")
        events.register("device.offline", "A device missed its heartbeats and is now offline.")
        events.register("device.low_stock", "A sample dispenser's stock fell to its low-stock threshold.")
        from . import console  # noqa: F401  (registers the partner console's devices panel)
