from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")

    def ready(self) -> None:
        from retail import events

        from . import tasks, timeline

        events.register(
            "member.points_changed", "A member's points balance changed (an entry in the ledger)."
        )
        events.register("member.tier_changed", "A member moved to another tier (or out of every tier).")
        events.register("member.consent_changed", "A member granted or withdrew consent for a channel.")
        events.subscribe("order.created", tasks.on_order_created)
        timeline.register_own()
