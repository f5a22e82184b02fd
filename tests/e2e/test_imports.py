"""Member imports in a real browser: HQ downloads nothing but the form, uploads a CSV, reads
the dry run's preview (forecast and a row error), imports, and sees the result; on a tablet."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CSV = (
    "手机号,姓名,门店,短信同意,标签\n"
    "13800000003,王小明,SH001,是,VIP\n"  # already a member: merged
    "13912345678,李雷,BJ001,否,新客\n"  # new
    "12ab,韩梅梅,,,\n"  # not a phone
).encode()


def test_hq_uploads_checks_and_imports_members(page, live_server, shop, settings, tmp_path):
    from members.models import Member

    settings.MEDIA_ROOT = str(tmp_path)
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/members/imports/")
    expect(page.locator("h1")).to_have_text("Import members")
    expect(page.locator('a:has-text("Download the template (CSV)")')).to_be_visible()
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
    screenshot(page, "member-import-upload")

    # uploads: the dry run runs and the preview shows the forecast and the bad row
    page.set_input_files('input[name="file"]', {"name": "会员.csv", "mimeType": "text/csv", "buffer": CSV})
    with page.expect_navigation():
        page.click('button:has-text("Upload and check")')
    expect(page.locator("h2").first).to_have_text("Dry run: nothing imported yet")
    kpis = page.locator(".kpi-value")
    expect(kpis.nth(0)).to_have_text("3")
    expect(kpis.nth(1)).to_have_text("1")  # new
    expect(kpis.nth(2)).to_have_text("1")  # merged
    expect(kpis.nth(3)).to_have_text("1")  # with errors
    expect(page.locator("#import-errors")).to_contain_text("Not a valid phone number")
    assert Member.objects.filter(brand=shop["brand"]).count() == 8  # nothing imported yet
    width, viewport = no_horizontal_overflow(page)
    assert width <= viewport
    screenshot(page, "member-import-preview")

    # imports the valid rows
    with page.expect_navigation():
        page.click('button:has-text("Import 2 valid rows")')
    expect(page.locator("h2").first).to_have_text("Imported")
    expect(page.locator(".kpi-value").nth(1)).to_have_text("1")
    assert Member.objects.filter(brand=shop["brand"]).count() == 9
    assert page.errors == []
