"""Member pages in a real browser: find by phone, open the page, reveal (audited), tablet fit."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def grant_reveal(user) -> None:
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType

    from members.models import Member

    perm, _ = Permission.objects.get_or_create(
        codename="reveal_member_phone",
        content_type=ContentType.objects.get_for_model(Member),
        defaults={"name": "Can reveal a member's phone number"},
    )
    user.user_permissions.add(perm)


def member_with_phone(phone: str):
    from members.selectors import member_by_phone
    from retail.models import Brand

    return member_by_phone(brand_id=Brand.objects.get(slug="demo").pk, phone=phone)


def test_store_manager_finds_a_member_by_phone_and_reveals_the_number(page, live_server, shop):
    grant_reveal(shop["manager"])
    member = member_with_phone("13800000003")
    log_in(page, live_server, "manager")

    # the manager finds the member by phone, typed the way people say it
    page.click('.mainnav a:has-text("Members")')
    expect(page.locator("h1")).to_have_text("Members")
    expect(page.locator("#member-rows tbody tr")).to_have_count(8)
    page.fill('input[name="q"]', "138 0000 0003")
    # a locator wait, not wait_for_function: our CSP forbids string evaluation (unsafe-eval)
    expect(page.locator("#member-rows tbody tr")).to_have_count(1)
    expect(page.locator("#member-rows")).to_contain_text(member.member_no)
    expect(page.locator("#member-rows")).to_contain_text("138****0003")
    assert "q=138" in page.url  # hx-push-url keeps the search linkable

    # opens the member page: masked until revealed
    with page.expect_navigation():
        page.click(f'#member-rows a:has-text("{member.member_no}")')
    expect(page.locator("h1")).to_have_text(member.display_name)
    expect(page.locator("#member-phone")).to_contain_text("138****0003")
    assert "13800000003" not in page.content()

    # reveals the number in place
    page.click('#member-phone button:has-text("Reveal phone")')
    expect(page.locator("#member-phone .revealed-phone")).to_have_text("13800000003")
    expect(page.locator("#member-reveals")).to_have_count(0)  # the audit list is HQ's
    assert page.errors == []

    # HQ sees the reveal on the member page: who and when
    page.context.clear_cookies()
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/members/{member.pk}/")
    reveals = page.locator("#member-reveals tbody tr")
    expect(reveals).to_have_count(1)
    expect(reveals.first).to_contain_text("manager")
    expect(reveals.first).to_contain_text(re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"))
    expect(page.locator("#member-phone button")).to_have_count(0)  # HQ lacks the permission
    assert page.errors == []


def test_hq_with_the_permission_sees_its_own_reveal_listed_at_once(page, live_server, shop):
    grant_reveal(shop["hq"])
    member = member_with_phone("13800000005")
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/members/{member.pk}/")
    expect(page.locator("#member-reveals tbody tr")).to_have_count(1)  # the "nobody yet" row
    expect(page.locator("#member-reveals")).to_contain_text("Nobody has revealed")

    page.click('#member-phone button:has-text("Reveal phone")')

    expect(page.locator("#member-phone .revealed-phone")).to_have_text("13800000005")
    expect(page.locator("#member-reveals tbody tr").first).to_contain_text("hq")
    expect(page.locator("#member-reveals")).not_to_contain_text("Nobody has revealed")
    assert page.errors == []


def test_store_filter_refreshes_the_rows_in_place(page, live_server, shop):
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/members/")
    expect(page.locator("#member-rows tbody tr")).to_have_count(8)
    page.select_option('select[name="store"]', str(shop["stores"][1].pk))  # nobody joined there
    expect(page.locator("#member-rows tbody tr")).to_have_count(1)
    expect(page.locator("#member-rows")).to_contain_text("No members yet.")
    assert f"store={shop['stores'][1].pk}" in page.url
    assert page.errors == []


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("username", ["hq", "manager"])
def test_member_pages_fit_a_768px_tablet(page, live_server, shop, username, language):
    grant_reveal(shop[username])
    member = member_with_phone("13800000001")
    log_in(page, live_server, username)
    if language != "en":
        with page.expect_navigation():
            page.click(f'.lang-switch button[value="{language}"]')
    for path, slug in [("/members/", "members"), (f"/members/{member.pk}/", "member-detail")]:
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        if language != "en":
            expect(page.locator(".mainnav")).to_contain_text("会员")
        scroll_width, inner_width = no_horizontal_overflow(page)
        screenshot(page, f"{username}-{slug}-{language}")
        assert scroll_width <= inner_width, f"{path} overflows: {scroll_width} > {inner_width}"
    # and with the number revealed
    page.click("#member-phone button")
    expect(page.locator("#member-phone .revealed-phone")).to_have_text("13800000001")
    scroll_width, inner_width = no_horizontal_overflow(page)
    screenshot(page, f"{username}-member-revealed-{language}")
    assert scroll_width <= inner_width
    assert page.errors == []
