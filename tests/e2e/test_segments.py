"""Segments in a real browser: a store manager finds a member by phone, reveals the number
(HQ sees the audit), tags the member by hand, then builds a segment whose live count follows
the rules, saves it and sees its members."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import log_in, no_horizontal_overflow, screenshot
from .test_members import grant_reveal, member_with_phone

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_store_manager_finds_reveals_tags_and_builds_a_segment_with_a_live_count(page, live_server, shop):
    grant_reveal(shop["manager"])
    member = member_with_phone("13800000003")
    log_in(page, live_server, "manager")

    # finds the member by phone and opens the page
    page.click('.mainnav a:has-text("Members")')
    page.fill('input[name="q"]', "138 0000 0003")
    expect(page.locator("#member-rows tbody tr")).to_have_count(1)
    with page.expect_navigation():
        page.click(f'#member-rows a:has-text("{member.member_no}")')
    expect(page.locator("#member-phone")).to_contain_text("138****0003")

    # reveals the number (audited)
    page.click('#member-phone button:has-text("Reveal phone")')
    expect(page.locator("#member-phone .revealed-phone")).to_have_text("13800000003")

    # tags the member by hand: the card updates in place
    expect(page.locator("#member-tags")).to_contain_text("No tags yet.")
    page.fill('#member-tags input[name="name"]', "VIP 贵宾")
    page.click('#member-tags button:has-text("Add")')
    expect(page.locator("#member-tags .tag-chip")).to_have_count(1)
    expect(page.locator("#member-tags .tag-chip")).to_contain_text("VIP 贵宾")

    # builds a segment: with no condition every member of the manager's stores counts
    page.goto(f"{live_server.url}/members/segments/new/")
    count = page.locator("#segment-count-value")
    expect(count).to_have_text("8")
    expect(page.locator("#segment-preview tbody tr")).to_have_count(8)

    # a condition on the tag: the count follows as the rule changes
    page.select_option('select[name="add_field"]', "tags")
    page.click('button:has-text("Add condition")')
    expect(page.locator("#segment-conditions .condition")).to_have_count(1)
    page.get_by_label("VIP 贵宾").check()
    expect(count).to_have_text("1")
    expect(page.locator("#segment-preview tbody tr")).to_have_count(1)
    expect(page.locator("#segment-preview")).to_contain_text(member.member_no)

    # "has none of" turns it around
    page.select_option('select[name="c-0-op"]', "none_of")
    expect(count).to_have_text("7")

    # and for a channel nobody accepts, nobody
    page.select_option('select[name="c-0-op"]', "any_of")
    expect(count).to_have_text("1")
    page.select_option('select[name="channel"]', "call")
    expect(count).to_have_text("0")
    page.select_option('select[name="channel"]', "sms")
    expect(count).to_have_text("1")
    scroll_width, inner_width = no_horizontal_overflow(page)
    screenshot(page, "manager-segment-builder")
    assert scroll_width <= inner_width

    # saves it: the segment's page lists the member once materialised
    page.fill('#segment-form input[name="name"]', "VIP texts")
    with page.expect_navigation():
        page.click('button:has-text("Save segment")')
    expect(page.locator("h1")).to_have_text("VIP texts")
    expect(page.locator("#segment-members")).to_contain_text(member.member_no)
    expect(page.locator("#segment-members tbody tr")).to_have_count(1)
    expect(page.locator("#segment-status")).to_contain_text("Done")
    expect(page.locator(".rule-lines")).to_contain_text("VIP 贵宾")  # the rule names the tag
    scroll_width, inner_width = no_horizontal_overflow(page)
    screenshot(page, "manager-segment-detail")
    assert scroll_width <= inner_width

    # the tags page lists the hand tag with its one member
    page.goto(f"{live_server.url}/members/tags/")
    expect(page.locator("#tag-list tbody tr")).to_have_count(1)
    expect(page.locator("#tag-list tbody tr").first).to_contain_text("1")
    scroll_width, inner_width = no_horizontal_overflow(page)
    screenshot(page, "manager-tags")
    assert scroll_width <= inner_width
    assert page.errors == []

    # HQ sees the manager's reveal on the member page
    page.context.clear_cookies()
    log_in(page, live_server, "hq")
    page.goto(f"{live_server.url}/members/{member.pk}/")
    expect(page.locator("#member-reveals tbody tr")).to_have_count(1)
    expect(page.locator("#member-reveals tbody tr").first).to_contain_text("manager")
    expect(page.locator("#member-tags")).to_contain_text("VIP 贵宾")
    assert page.errors == []
