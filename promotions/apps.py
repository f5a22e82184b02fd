from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PromotionsConfig(AppConfig):
    name = "promotions"
    verbose_name = _("Campaigns and coupons")

    def ready(self) -> None:
        from retail import demo, events

        from . import tasks  # noqa: F401  (registers the Celery tasks)
        from .demo import seed_brand_promotions, wipe_brand_promotions

        demo.brand_seeded.connect(seed_brand_promotions, dispatch_uid="promotions-seed")
        demo.brand_wiping.connect(wipe_brand_promotions, dispatch_uid="promotions-wipe")

        for name, meaning in EVENTS.items():
            events.register(name, meaning)
        from retail.onboarding import steps as onboarding

        from .selectors.onboarding import rehearsal_step, rehearsal_step_links

        onboarding.register(
            "rehearsal",
            title=_("Rehearsal passed"),
            check=rehearsal_step,
            order=60,
            help=_("A rehearsal of this store passed (when a published campaign includes it)."),
            links=rehearsal_step_links,
        )


EVENTS = {
    "campaign.published": "HQ published a campaign: its phases are scheduled, benefit segments frozen.",
    "campaign.phase_changed": "A campaign entered a phase (warm-up, pre-sale, main day, after-sale) or ended.",
    "coupon.claimed": "A member claimed a coupon (API, workbench, phone, or an offline block synced).",
    "coupon.redeemed": "A coupon was redeemed on a purchase in a store (online, offline-synced, or by the POS).",
    "coupon.block_synced": "A tablet's offline coupon block synced: coupons handed out, unused ones returned.",
    "incident.opened": "A store reported an incident, or the system found one (an offline double spend).",
    "incident.updated": "An incident was assigned, commented on or resolved.",
    "rehearsal.finished": "A campaign rehearsal finished: which stores are ready and which are not.",
}
