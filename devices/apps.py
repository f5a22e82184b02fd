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
        from . import alerts

        alerts.connect()  # managers and HQ are notified of offline devices and low stock
        events.register("device.retired", "A device was taken out of service for good.")
        events.register(
            "backflow.notice_issued",
            "A partner got its monthly data-backflow verdict (a reward or a penalty notice).",
        )
        from retail.onboarding import steps as onboarding

        from . import console  # noqa: F401  (registers the partner console's devices panel)
        from .selectors.onboarding import devices_step, devices_step_links

        onboarding.register(
            "devices",
            title=_("Devices connected"),
            check=devices_step,
            order=40,
            live=True,
            help=_("Every device registered and each one's first heartbeat seen."),
            links=devices_step_links,
        )
