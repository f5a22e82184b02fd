"""Browser: a guide reports an incident from the tablet form; HQ's open desk shows it without
a reload, HQ assigns and resolves it. HQ rehearses a campaign and reads the report."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot


def _png(width: int = 24, height: int = 16) -> bytes:
    """A real (red) PNG, so the browser can draw it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xc8\x10\x2e" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PNG = _png()


def test_a_guides_report_appears_live_on_hqs_desk_and_hq_resolves_it(
    browser, page, asgi_server, shop, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    url, _run = asgi_server
    server = type("Server", (), {"url": url})
    # given HQ on the incident desk, connected
    log_in(page, server, "hq")
    page.goto(f"{url}/promotions/incidents/")
    expect(page.locator("[data-live-state]")).to_have_class(re.compile("is-live"))
    # when the guide reports from a tablet (another browser)
    tablet = browser.new_context(viewport={"width": 768, "height": 1024}, locale="en-US").new_page()
    tablet_errors: list[str] = []
    tablet.on("pageerror", lambda exc: tablet_errors.append(str(exc)))
    log_in(tablet, server, "guide")
    tablet.goto(f"{url}/promotions/incidents/report/")
    choice = tablet.locator("label.incident-choice").first
    assert choice.bounding_box()["height"] >= 44  # touch target
    tablet.locator('label.incident-choice:has-text("Payment")').click()
    tablet.locator('label.incident-choice:has-text("Critical")').click()
    tablet.fill('input[name="title"]', "Card terminal down")
    tablet.fill('textarea[name="note"]', "Both tills refuse cards")
    tablet.set_input_files(
        'input[name="photo"]', files=[{"name": "till.png", "mimeType": "image/png", "buffer": PNG}]
    )
    scroll_width, width = no_horizontal_overflow(tablet)
    assert scroll_width <= width
    screenshot(tablet, "promotions-incident-report")
    with tablet.expect_navigation():
        tablet.click("button.incident-submit")
    expect(tablet.locator("h1")).to_contain_text("Card terminal down")
    assert tablet_errors == []
    # then HQ's desk shows the row without a reload
    row = page.locator("tr[data-incident-id]", has_text="Card terminal down")
    expect(row).to_be_visible(timeout=3000)
    expect(row).to_contain_text("Critical")
    screenshot(page, "promotions-incident-desk")
    # and HQ assigns and resolves it from the incident's page
    row.locator("a").click()
    page.select_option('select[name="assignee"]', label="hq")
    page.click('form[action$="/assign/"] button')
    expect(page.locator("h1")).to_contain_text("Assigned")
    page.fill('textarea[name="resolution"]', "Restarted the payment gateway")
    page.click('form[action$="/resolve/"] button')
    expect(page.locator("h1")).to_contain_text("Resolved")
    expect(page.locator("img.incident-photo")).to_be_visible()
    screenshot(page, "promotions-incident-detail")
    page.wait_for_function("document.querySelector('img.incident-photo').complete")
    assert page.evaluate("document.querySelector('img.incident-photo').naturalWidth") == 24
    assert page.errors == []


def test_hq_rehearses_a_campaign_and_reads_which_stores_are_not_ready(page, live_server, shop):
    from promotions.tests.factories import CampaignFactory, CouponTemplateFactory

    brand, stores = shop["brand"], shop["stores"]
    campaign = CampaignFactory(brand=brand, name="Double-11 2026", stores=stores[:2])
    CouponTemplateFactory(brand=brand, campaign=campaign)
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/promotions/rehearsals/")
    page.select_option('select[name="campaign"]', label="Double-11 2026")
    expect(page.locator(f'[data-store-id="{stores[2].pk}"]')).to_be_hidden()
    page.click("[data-select-all]")
    with page.expect_navigation():
        page.click('form.rehearsal-start button[type="submit"]')
    # the guide's store (SH001) is ready; BJ001 has a manager but no guide: also on duty
    table = page.locator(".rehearsal-table")
    expect(table).to_contain_text("SH001")
    expect(page.locator("progress")).to_have_attribute("value", "100")
    assert page.locator(".rehearsal-row-bad").count() == 0, page.locator(".rehearsal-table").inner_text()
    screenshot(page, "promotions-rehearsal-report")
    assert page.errors == []
