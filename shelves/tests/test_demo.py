"""The demo seed gives every demo brand working cloud shelves, and a wiped brand takes its
shelves and devices rows with it."""

import io

import pytest
from django.core.management import call_command

from devices.tests.factories import DeviceFactory
from retail import demo
from retail.models import Brand, Order, Store
from shelves.models import Catalog, Scan, Screen, ScreenHour

pytestmark = pytest.mark.django_db(transaction=True)


def test_seeded_demo_brands_have_screens_scans_and_attributed_sales():
    call_command("seed_demo", members=50, orders=200, stdout=io.StringIO())
    for spec in demo.DEMO_BRANDS:
        brand = Brand.objects.get(slug=spec.slug)
        stores = Store.objects.filter(brand=brand).count()
        assert Screen.objects.filter(brand=brand, device__isnull=False).count() == stores
        assert Catalog.objects.filter(brand=brand).count() == 2
        assert Scan.objects.filter(brand=brand).exists() and ScreenHour.objects.filter(brand=brand).exists()
        attributed = Order.objects.filter(brand=brand, shelf_scan_id__isnull=False)
        assert attributed.exists()
        for order in attributed:
            scan = Scan.objects.get(pk=order.shelf_scan_id)
            assert scan.brand_id == brand.pk and scan.scanned_at < order.paid_at


def test_wiping_a_brand_takes_its_shelves_and_devices_with_it():
    call_command("seed_demo", members=20, orders=50, stdout=io.StringIO())
    brand = Brand.objects.get(slug=demo.DEMO_BRANDS[0].slug)
    DeviceFactory(brand=brand, store=Store.objects.filter(brand=brand).first())
    demo.wipe_brand(brand)
    assert not Brand.objects.filter(pk=brand.pk).exists()
    assert not Screen.objects.filter(brand_id=brand.pk).exists()
    assert not Scan.objects.filter(brand_id=brand.pk).exists()
