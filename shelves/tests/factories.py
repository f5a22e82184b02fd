import factory

from retail.tests.factories import BrandFactory, ProductFactory, StoreFactory
from shelves.models import Catalog, CatalogItem, Scan, Screen


class CatalogFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Catalog

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Catalog {n}")
    headline = "New season"


class CatalogItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CatalogItem

    catalog = factory.SubFactory(CatalogFactory)
    brand = factory.LazyAttribute(lambda o: o.catalog.brand)
    product = factory.LazyAttribute(lambda o: ProductFactory(brand=o.catalog.brand))
    position = factory.Sequence(lambda n: n)


class ScreenFactory(factory.django.DjangoModelFactory):
    """A screen without a registry device (services.screens.create_screen makes one);
    `day_catalog` with two products unless given."""

    class Meta:
        model = Screen
        skip_postgeneration_save = True  # `items` adds rows to the catalog, not to the screen

    brand = factory.SubFactory(BrandFactory)
    store = factory.LazyAttribute(lambda o: StoreFactory(brand=o.brand))
    name = factory.Sequence(lambda n: f"Screen {n}")
    token = factory.Sequence(lambda n: f"kiosk-token-{n:06d}-test")
    scan_code = factory.Sequence(lambda n: f"sc{n:06d}")
    day_catalog = factory.LazyAttribute(lambda o: CatalogFactory(brand=o.brand))

    @factory.post_generation
    def items(self, create, extracted, **kwargs):
        if create and self.day_catalog_id and not self.day_catalog.items.exists():
            for _ in range(extracted if extracted is not None else 2):
                CatalogItemFactory(catalog=self.day_catalog)


class ScanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Scan

    screen = factory.SubFactory(ScreenFactory)
    brand = factory.LazyAttribute(lambda o: o.screen.brand)
    store = factory.LazyAttribute(lambda o: o.screen.store)
    product = factory.LazyAttribute(lambda o: ProductFactory(brand=o.screen.brand))
    scanned_at = factory.Faker("date_time_this_month", tzinfo=__import__("datetime").timezone.utc)
