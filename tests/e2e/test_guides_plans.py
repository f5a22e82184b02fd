"""Browser: a store manager makes a call plan from a segment, starts it and sees its tasks
per guide and its chart; on the task board snoozes an overdue task in place; moves a leaving
guide's members to a colleague. At 1024x768 (landscape) and 768x1024 (portrait tablet)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in, no_horizontal_overflow, screenshot

VIEWPORTS = [(1024, 768), (768, 1024)]


@pytest.fixture
def plans_shop(shop):
    from guides.tests.factories import GuideProfileFactory, SegmentFactory, TaskFactory
    from members.choices import JobStatus
    from members.models import Member, SegmentMember
    from retail.choices import Role
    from retail.tests.factories import StaffRoleFactory, UserFactory

    store = shop["stores"][0]
    GuideProfileFactory(brand=shop["brand"], store=store, user=shop["guide"])
    colleague = UserFactory(username="colleague", password=PASSWORD)
    StaffRoleFactory(user=colleague, brand=shop["brand"], store=store, role=Role.GUIDE)
    members = list(Member.objects.filter(store=store))
    Member.objects.filter(store=store).update(consent_call=True)
    segment = SegmentFactory(brand=shop["brand"], name="Gold members 金卡会员", status=JobStatus.DONE)
    SegmentMember.objects.bulk_create(
        [SegmentMember(brand=shop["brand"], segment=segment, member=m) for m in members]
    )
    late = TaskFactory(
        brand=shop["brand"],
        store=store,
        guide=shop["guide"],
        member=members[0],
        due_at=timezone.now() - dt.timedelta(days=1),
        title="Birthday call",
    )
    return {**shop, "segment": segment, "colleague": colleague, "late": late, "members": members}


@pytest.mark.parametrize("width,height", VIEWPORTS, ids=["landscape", "portrait"])
def test_a_manager_plans_calls_snoozes_a_late_task_and_reassigns(
    browser, live_server, plans_shop, width, height
):
    from guides.models import CallPlan, ReassignmentBatch, Task
    from members.models import Member

    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    log_in(page, live_server, "manager")

    # a draft plan from the segment, for the flagship store
    page.goto(f"{live_server.url}/guides/plans/")
    screenshot(page, f"guides-plan-list-{width}x{height}")
    page.fill('input[name="name"]', "Double-11 warm-up calls")
    page.select_option('select[name="segment"]', str(plans_shop["segment"].pk))
    page.select_option('select[name="store"]', str(plans_shop["stores"][0].pk))
    submit = page.locator('button:has-text("Save as draft")')
    assert submit.bounding_box()["height"] >= 44
    with page.expect_navigation():
        submit.click()
    plan = CallPlan.objects.get()
    expect(page.locator("h1")).to_have_text("Double-11 warm-up calls")

    # started: the tasks are made and shown per guide, with the chart drawn
    with page.expect_navigation():
        page.click('button:has-text("Start: make the tasks")')
    expect(page.locator("[data-plan-status]")).to_have_attribute("data-plan-status", "active")
    assert Task.objects.filter(plan=plan).count() == len(plans_shop["members"])
    expect(page.locator('[data-chart="plan-done"] canvas')).to_have_count(1)
    assert no_horizontal_overflow(page)[0] <= width
    screenshot(page, f"guides-plan-detail-{width}x{height}")

    # the board: the late task is overdue; snoozing it swaps the row in place
    page.goto(f"{live_server.url}/guides/tasks/")
    row = page.locator(f"#task-{plans_shop['late'].pk}")
    expect(row).to_be_visible()
    assert "gp-task-overdue" in row.get_attribute("class")
    button = row.locator('button[value="tomorrow"]')
    assert button.bounding_box()["height"] >= 44
    button.click()
    expect(page.locator(f"#task-{plans_shop['late'].pk}")).to_have_attribute("data-task-status", "snoozed")
    assert no_horizontal_overflow(page)[0] <= width
    screenshot(page, f"guides-task-board-{width}x{height}")

    # the guide leaves: every member goes to the colleague
    page.goto(f"{live_server.url}/guides/assignments/")
    # the store's guides come in with htmx when the store changes: a store without guides
    # has nobody to move members from, and offers the other store's guides as targets
    page.select_option('select[name="store"]', str(plans_shop["stores"][1].pk))
    expect(page.locator('select[name="from_guide"] option')).to_have_count(1)
    expect(page.locator('input[name="to_guides"]')).to_have_count(2)
    page.select_option('select[name="store"]', str(plans_shop["stores"][0].pk))
    expect(page.locator(f'input[name="to_guides"][value="{plans_shop["colleague"].pk}"]')).to_have_count(1)
    page.select_option('select[name="from_guide"]', str(plans_shop["guide"].pk))
    page.locator(f'input[name="to_guides"][value="{plans_shop["colleague"].pk}"]').check()
    page.select_option('select[name="reason"]', "guide_left")
    assert page.locator("label.gp-choice").first.bounding_box()["height"] >= 44
    assert no_horizontal_overflow(page)[0] <= width
    screenshot(page, f"guides-reassign-form-{width}x{height}")
    with page.expect_navigation():
        page.click('button:has-text("Reassign")')
    moved = ReassignmentBatch.objects.get().members_moved
    assert moved == len(plans_shop["members"])
    expect(page.locator("[data-members-moved]")).to_have_text(str(moved))
    assert Member.objects.filter(guide=plans_shop["colleague"]).count() == moved
    assert no_horizontal_overflow(page)[0] <= width
    screenshot(page, f"guides-reassign-{width}x{height}")
    assert not errors, errors
    context.close()
