"""The main journeys in a real browser: log in per role, switch language, tablet layout."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

HOMES = [
    ("hq", "/hq/", "Brand overview"),
    ("manager", "/store/", "My stores today"),
    ("guide", "/guides/", "Today"),  # the tablet workbench
]


@pytest.mark.parametrize(("username", "path", "heading"), HOMES)
def test_each_role_logs_in_and_sees_its_home(page, live_server, shop, username, path, heading):
    log_in(page, live_server, username)

    assert page.url == f"{live_server.url}{path}"
    assert page.locator("h1").inner_text() == heading
    assert page.errors == []


def test_anonymous_visitor_is_sent_to_login_and_back(page, live_server, shop):
    page.goto(f"{live_server.url}/orders/")
    assert "/accounts/login/" in page.url
    page.fill('input[name="username"]', "hq")
    page.fill('input[name="password"]', "pass-1234")
    with page.expect_navigation():
        page.click('form button[type="submit"]:has-text("Log in")')
    assert page.url == f"{live_server.url}/orders/"


def test_language_switch_turns_the_interface_chinese(page, live_server, shop):
    log_in(page, live_server, "hq")

    with page.expect_navigation():
        page.click('.lang-switch button[value="zh-hans"]')

    assert page.locator("h1").inner_text() == "品牌概览"
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator(".mainnav").inner_text().split() == [
        "首页",
        "实时看板",
        "门店",
        "商品",
        "订单",
        "会员",
        "设备",
        "云货架",
        "营销活动",
        "导购",
        "审计日志",
        "合作伙伴",
    ]

    with page.expect_navigation():
        page.click('.lang-switch button[value="en"]')
    assert page.locator("h1").inner_text() == "Brand overview"


def test_hq_home_draws_the_sales_chart(page, live_server, shop):
    log_in(page, live_server, "hq")
    page.wait_for_selector('.chart[data-chart="sales"] canvas')
    assert page.locator(".kpi-value").first.inner_text() == "45"
    assert page.errors == []


def test_role_switch_menu_changes_the_home(page, live_server, shop):
    from retail.choices import Role
    from retail.tests.factories import StaffRoleFactory

    StaffRoleFactory(user=shop["hq"], brand=shop["brand"], store=shop["stores"][2], role=Role.GUIDE)
    log_in(page, live_server, "hq")
    page.click(".menu summary")
    with page.expect_navigation():
        page.click('.menu-item:has-text("Shopping guide")')
    assert page.url.endswith("/guides/")  # a guide's home is the workbench
    assert page.locator("h1").inner_text() == "Today"


def test_product_search_updates_the_rows_in_place(page, live_server, shop):
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/products/")
    assert page.locator("#product-rows tbody tr").count() == 50
    page.fill('input[name="q"]', "TD-0042")
    # a locator wait, not wait_for_function: our CSP forbids string evaluation (unsafe-eval)
    expect(page.locator("#product-rows tbody tr")).to_have_count(1)
    assert "TD-0042" in page.locator("#product-rows").inner_text()
    assert "q=TD-0042" in page.url  # hx-push-url keeps the search linkable
    assert page.errors == []


TABLET_PAGES = {
    "hq": ["/hq/", "/stores/", "/products/", "/orders/", "/audit/"],
    "manager": ["/store/", "/stores/", "/orders/", "/guides/tasks/"],
    "guide": ["/guides/", "/guide/", "/products/", "/orders/"],
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("username", list(TABLET_PAGES))
def test_nothing_overflows_a_768px_tablet(page, live_server, shop, username, language):
    log_in(page, live_server, username)
    if language != "en":
        with page.expect_navigation():
            page.click(f'.lang-switch button[value="{language}"]')
    store_id = shop["stores"][0].pk
    for path in [*TABLET_PAGES[username], f"/stores/{store_id}/"]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        scroll_width, inner_width = no_horizontal_overflow(page)
        slug = "store-detail" if path.endswith(f"/{store_id}/") else path.strip("/")
        name = f"{username}-{slug}-{language}"
        screenshot(page, name)
        assert scroll_width <= inner_width, f"{path} overflows: {scroll_width} > {inner_width}"
    assert page.errors == []


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_login_page_fits_a_tablet(page, live_server, shop, language):
    page.goto(f"{live_server.url}/accounts/login/")
    if language != "en":
        with page.expect_navigation():
            page.click(f'.lang-switch button[value="{language}"]')
        assert page.locator("h1").inner_text() == "登录天地"
    scroll_width, inner_width = no_horizontal_overflow(page)
    screenshot(page, f"anonymous-login-{language}")
    assert scroll_width <= inner_width
    assert page.errors == []
