from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RetailConfig(AppConfig):
    name = "retail"
    verbose_name = _("Retail core")

    def ready(self) -> None:
        from . import checks, events, signals  # noqa: F401  (checks registers deploy checks)
        from .api import schema  # noqa: F401  (registers the OpenAPI auth extension)
        from .broadcast import broadcast_event
        from .webhooks import on_event as queue_webhook_deliveries

        signals.connect()  # the per-user role cache's invalidation
        events.subscribe("*", broadcast_event)
        events.subscribe("*", queue_webhook_deliveries)
        from . import webhook_alerts

        webhook_alerts.connect()  # webhook.paused -> HQ's inbox and bell
        from .dashboards.tasks import fold_event as fold_into_dashboards

        events.subscribe("*", fold_into_dashboards)
        from members import timeline as member_timeline

        from .spaces.timeline import booking_entries

        member_timeline.register("space_booking", booking_entries)  # a member's space bookings
        from .onboarding import tasks as onboarding_tasks  # noqa: F401  (registers the import task)
        from .onboarding.services import REFRESH_ON
        from .onboarding.services import on_event as refresh_onboarding

        for name in REFRESH_ON:  # HQ's "stuck on" column follows the facts the steps check
            events.subscribe(name, refresh_onboarding)
