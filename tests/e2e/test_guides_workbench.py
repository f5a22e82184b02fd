"""The guide workbench on a tablet, landscape (1024x768) and portrait (768x1024), in a real
browser against the real ASGI application: a guide finds a member by search, taps Call
(the simulated provider drives the call to completed through the status callback), records
the outcome and next step in two taps, sees the task done and the calls number move; then
the store's network goes, the guide writes a note, sees it waiting, the network comes back
and the note is synced exactly once."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from .conftest import PASSWORD, log_in, no_horizontal_overflow, screenshot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

VIEWPORTS = {"landscape": (1024, 768), "portrait": (768, 1024)}


@pytest.fixture
def workbench_shop(transactional_db, settings):
    from guides.tests.factories import TaskFactory, guide_in
    from members.tests.factories import MemberFactory
    from retail.tests.factories import BrandFactory, StoreFactory

    settings.TELEPHONY_SIMULATOR_STEP_SECONDS = 0
    settings.TELEPHONY_SIMULATOR_SCENARIO = "answered"
    brand = BrandFactory(name="Tiandi Demo 天地示范品牌", slug="demo-workbench")
    store = StoreFactory(brand=brand, code="SH001", name="上海南京西路旗舰店")
    guide = guide_in(store, username="guide-wb")
    guide.set_password(PASSWORD)
    guide.save()
    member = MemberFactory(
        brand=brand, store=store, guide=guide, phone="13812345678", name="王小明", consent_call=True
    )
    for i in range(6):
        MemberFactory(brand=brand, store=store, guide=guide, phone=f"1370000{i:04d}", name=f"李{i}")
    task = TaskFactory(brand=brand, store=store, guide=guide, member=member, title="Monthly care call")
    return {"brand": brand, "store": store, "guide": guide, "member": member, "task": task}


def figure(page, name: str):
    return page.locator(f"[data-wb-figure={name}]")


@pytest.mark.parametrize("viewport", list(VIEWPORTS), ids=list(VIEWPORTS))
def test_a_guide_calls_a_member_records_the_outcome_and_syncs_an_offline_note(
    browser, asgi_server, workbench_shop, viewport
):
    from guides.choices import CallStatus, InteractionKind, InteractionSource, TaskStatus
    from guides.models import Interaction, Task

    url, run = asgi_server
    member, task = workbench_shop["member"], workbench_shop["task"]
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda msg: page.errors.append(msg.text) if msg.type == "error" else None)
    try:
        log_in(page, SimpleNamespace(url=url), "guide-wb")
        page.goto(f"{url}/guides/")
        expect(page.locator("h1")).to_have_text("Today")
        expect(page.locator(f"[data-wb-task='{task.pk}']")).to_contain_text("Monthly care call")
        expect(figure(page, "calls")).to_have_text("0")
        assert "13812345678" not in page.content()

        # find the member by the last four digits of their phone
        page.fill("[data-wb-search] input[name=q]", "5678")
        rows = page.locator("[data-wb-member-list] [data-wb-member]")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("138****5678")

        # tap Call: the simulated provider drives the call to completed
        call = rows.first.locator("[data-wb-call]")
        box = call.bounding_box()
        assert box and box["height"] >= 44 and box["width"] >= 44
        call.click()
        panel = page.locator("#wb-call-panel [data-call-panel]")
        expect(panel).to_have_attribute("data-call-status", CallStatus.COMPLETED, timeout=15000)
        screenshot(page, f"workbench-call-{viewport}")

        # two taps: the outcome, then the next step (which saves)
        page.locator("#wb-call-panel input[name=outcome][value=interested]").check(force=True)
        page.locator("#wb-call-panel button[name=next_step][value=none]").click()

        # the task is done and the numbers move, without a reload
        expect(page.locator(f"[data-wb-task='{task.pk}']")).to_have_count(0, timeout=10000)
        expect(figure(page, "calls")).to_have_text("1", timeout=10000)
        assert run(lambda: Task.objects.get(pk=task.pk).status) == TaskStatus.DONE
        call_row = run(lambda: Interaction.objects.get(member_id=member.pk, kind=InteractionKind.CALL))
        assert call_row.outcome == "interested" and call_row.answered

        width_px, inner = no_horizontal_overflow(page)
        assert width_px <= inner
        # every control of the workbench is a tablet-sized target
        small = page.evaluate(
            """() => Array.from(document.querySelectorAll(
                '[data-wb] .wb-button, [data-wb] .wb-member-link, [data-wb-sync-badge], [data-wb-search] input'
            )).filter(el => el.offsetParent !== null)
              .map(el => [el.textContent.trim() || el.name, el.getBoundingClientRect().height])
              .filter(([, h]) => h < 44)"""
        )
        assert small == []

        # the network goes (the service worker took charge of the page meanwhile): a note is
        # kept on the tablet and shown as waiting
        _until_the_worker_controls(page)
        context.set_offline(True)
        expect(page.locator("[data-wb-offline]")).to_be_visible()
        page.locator(f"[data-wb-member='{member.pk}'] [data-wb-note-open]").click()
        page.fill("[data-wb-note-dialog] textarea[name=note]", "Offline: wants the red scarf 红色丝巾")
        page.click("[data-wb-note-dialog] [data-wb-note-save]")
        expect(page.locator("[data-wb-sync-badge]")).to_have_text("1 waiting to sync")
        expect(page.locator("[data-wb-queue] li")).to_have_count(1)
        notes = lambda: Interaction.objects.filter(member_id=member.pk, note__contains="red scarf").count()  # noqa: E731
        assert run(notes) == 0
        screenshot(page, f"workbench-offline-{viewport}")

        # a reload with the network cut: the service worker serves the page, the lists come
        # from the tablet's snapshot and the note is still waiting
        page.reload()
        expect(page.locator("h1")).to_have_text("Today")
        expect(page.locator("[data-wb-offline]")).to_contain_text("Offline")
        expect(page.locator("[data-wb-sync-badge]")).to_have_text("1 waiting to sync")
        expect(page.locator(f"[data-wb-member-list] [data-wb-member='{member.pk}']")).to_have_count(1)
        assert "13812345678" not in page.content()
        # search works on the tablet's copy: the last four digits of another member
        page.fill("[data-wb-search] input[name=q]", "0003")
        expect(page.locator("[data-wb-member-list] [data-wb-member]")).to_have_count(1)
        expect(page.locator("[data-wb-member-list] [data-wb-member]").first).to_contain_text("137****0003")

        # the network comes back: synced, exactly once
        context.set_offline(False)
        expect(page.locator("[data-wb-sync-badge]")).to_have_text("All synced", timeout=15000)
        expect(page.locator("[data-wb-offline]")).to_be_hidden()
        # the lists come from the server again (its rows have an Open link; the tablet's do not)
        expect(page.locator("[data-wb-member-list] [data-wb-member] a.button")).to_have_count(
            1, timeout=10000
        )
        page.evaluate("() => window.dispatchEvent(new Event('online'))")  # a second sync changes nothing
        page.wait_for_timeout(500)
        assert run(notes) == 1
        note = run(lambda: Interaction.objects.get(member_id=member.pk, note__contains="red scarf"))
        assert note.source == InteractionSource.OFFLINE and note.kind == InteractionKind.NOTE
        # offline, the browser logs the requests that could not go out; nothing else may fail
        assert [e for e in page.errors if "net::ERR_" not in e] == []
    finally:
        context.close()


@pytest.mark.parametrize("viewport", list(VIEWPORTS), ids=list(VIEWPORTS))
def test_a_guide_writes_a_visit_on_the_member_card(browser, asgi_server, workbench_shop, viewport):
    from guides.choices import InteractionKind, InteractionSource
    from guides.models import Interaction

    url, run = asgi_server
    member = workbench_shop["member"]
    width, height = VIEWPORTS[viewport]
    context = browser.new_context(viewport={"width": width, "height": height}, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, SimpleNamespace(url=url), "guide-wb")
        page.goto(f"{url}/guides/members/{member.pk}/")
        expect(page.locator("[data-wb-phone]")).to_have_text("138****5678")
        expect(page.locator("[data-wb-call]")).to_be_visible()
        page.locator("[data-wb-note-inline] input[name=kind][value=visit]").check()
        page.fill("[data-wb-note-inline] textarea[name=note]", "Tried the cashmere coat 羊绒大衣")
        page.click("[data-wb-note-inline] [data-wb-note-save]")
        # synced at once, and the card shows it
        expect(page.locator("[data-wb-interactions]")).to_contain_text("羊绒大衣", timeout=10000)
        expect(page.locator("[data-wb-sync-badge]")).to_have_text("All synced")
        rows = run(
            lambda: list(Interaction.objects.filter(member_id=member.pk).values_list("kind", "source"))
        )
        assert rows == [(InteractionKind.VISIT, InteractionSource.WORKBENCH)]  # online: not "from offline"
        width_px, inner = no_horizontal_overflow(page)
        assert width_px <= inner
        screenshot(page, f"workbench-card-{viewport}")
    finally:
        context.close()


def _until_the_worker_controls(page) -> None:
    """Wait until the service worker controls the page. A worker that activated after the
    page loaded controls it once it claims its clients; on a busy machine that can lag, and
    a reload (the worker active) always gives the page its controller."""
    active = page.evaluate("async () => { await navigator.serviceWorker.ready; return true; }")
    assert active
    try:
        page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=15000)
    except PlaywrightTimeout:
        page.reload()
        page.wait_for_function("() => !!navigator.serviceWorker.controller", timeout=30000)
