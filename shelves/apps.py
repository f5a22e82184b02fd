from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ShelvesConfig(AppConfig):
    name = "shelves"
    verbose_name = _("Cloud shelves")

    def ready(self) -> None:
        from retail import attribution, demo, events

        from . import tasks  # noqa: F401  (registers the Celery tasks)
        from .demo import seed_brand_shelves, wipe_brand_shelves
        from .services.scans import resolve_token

        demo.brand_seeded.connect(seed_brand_shelves, dispatch_uid="shelves-seed")
        demo.brand_wiping.connect(wipe_brand_shelves, dispatch_uid="shelves-wipe")
        attribution.register("sh1", resolve_token)
        events.register(
            "shelf.catalog_changed", "A cloud-shelf catalog's products, order or headline changed."
        )
        events.register(
            "shelf.screen_changed", "A screen's catalogs were reassigned, or it was added or retired."
        )
        events.register(
            "shelf.double11_switched", "A brand's cloud shelves went into or out of Double-11 mode."
        )
        events.register(
            "shelf.scans_counted",
            "Scans of a store's screens in the last minute (one event per store and minute).",
        )
        from retail.onboarding import steps as onboarding

        from .selectors.onboarding import catalog_screens_step, catalog_screens_step_links

        onboarding.register(
            "catalog_screens",
            title=_("Catalog and shelf screens"),
            check=catalog_screens_step,
            order=30,
            help=_("An active cloud-shelf screen showing a catalog."),
            links=catalog_screens_step_links,
        )
