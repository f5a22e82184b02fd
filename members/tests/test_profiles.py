"""Computed member profiles (会员画像): each definition proven on hand-built orders, the run
as a job with progress, the pages and their permissions. See members/services/profiles.py."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from members.choices import JobStatus
from members.models import MemberProfile, ProfileRun
from members.selectors import profiles as selectors
from members.services import profiles as services
from members.tasks.profiles import compute_all_profiles_task
from members.tests.factories import MemberFactory
from retail.choices import Channel, OrderStatus, Role
from retail.errors import Conflict
from retail.models import AuditEvent, Order, OrderLine
from retail.tenancy import principal_for_role
from retail.tests.factories import ProductFactory, StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
NOW = timezone.now().replace(microsecond=0)
_ext = iter(range(10**6))


def buy(member, *, days_ago: float, lines, store=None, status=OrderStatus.PAID, channel=Channel.STORE):
    """A hand-built order of `member`: lines are (product, line_total) pairs."""
    total = sum((Decimal(str(amount)) for _product, amount in lines), Decimal("0"))
    order = Order.objects.create(
        brand=member.brand,
        external_id=f"P-{next(_ext):07d}",
        channel=channel,
        status=status,
        store=store,
        member=member,
        subtotal=total,
        total=total,
        paid_at=NOW - timedelta(days=days_ago),
    )
    for product, amount in lines:
        OrderLine.objects.create(
            brand=member.brand,
            order=order,
            product=product,
            sku=product.sku,
            name=product.name,
            quantity=1,
            unit_price=Decimal(str(amount)),
            line_total=Decimal(str(amount)),
        )
    return order


def compute(brand) -> int:
    return services.compute_profiles(brand_id=brand.pk, as_of=NOW)


def profile(member) -> MemberProfile:
    return MemberProfile.objects.get(pk=member.pk)


@pytest.fixture
def shoes(brand):
    return ProductFactory(brand=brand, category="shoes")


@pytest.fixture
def bags(brand):
    return ProductFactory(brand=brand, category="bags")


@pytest.fixture
def coats(brand):
    return ProductFactory(brand=brand, category="coats")


@pytest.fixture
def hats(brand):
    return ProductFactory(brand=brand, category="hats")


@pytest.fixture
def member(brand, store):
    return MemberFactory(brand=brand, store=store)


def hq_principal(brand):
    return principal_for_role(StaffRoleFactory(brand=brand, role=Role.HQ_ADMIN))


# --- definitions --------------------------------------------------------------------------------


def test_recency_is_whole_days_since_the_last_counted_order(brand, store, member, shoes):
    # given orders 40 and 9.6 days ago, and a newer refunded one that must not count
    buy(member, days_ago=40, lines=[(shoes, 100)], store=store)
    buy(member, days_ago=9.6, lines=[(shoes, 100)], store=store)
    buy(member, days_ago=2, lines=[(shoes, 100)], store=store, status=OrderStatus.REFUNDED)
    # when profiles are computed
    compute(brand)
    # then recency counts whole days back to the last paid order
    p = profile(member)
    assert p.recency_days == 9
    assert p.last_order_at == NOW - timedelta(days=9.6)
    assert p.first_order_at == NOW - timedelta(days=40)


def test_frequency_and_monetary_count_only_paid_orders_of_the_last_365_days(brand, store, member, shoes):
    # given two paid orders inside the window, one just outside it and a cancelled one inside
    buy(member, days_ago=10, lines=[(shoes, "120.50")], store=store)
    buy(member, days_ago=364, lines=[(shoes, "79.50")], store=store)
    buy(member, days_ago=366, lines=[(shoes, 1000)], store=store)
    buy(member, days_ago=5, lines=[(shoes, 500)], store=store, status=OrderStatus.CANCELLED)
    # when computed
    compute(brand)
    # then frequency and monetary see only the two paid orders inside the window
    p = profile(member)
    assert p.frequency == 2
    assert p.monetary == Decimal("200.00")


def test_lifetime_value_is_net_spend_over_all_time(brand, store, member, shoes):
    # given paid orders over three years, a refunded and a cancelled one
    buy(member, days_ago=1, lines=[(shoes, 100)], store=store)
    buy(member, days_ago=800, lines=[(shoes, "250.25")], store=store)
    buy(member, days_ago=3, lines=[(shoes, 999)], store=store, status=OrderStatus.REFUNDED)
    buy(member, days_ago=4, lines=[(shoes, 888)], store=store, status=OrderStatus.CANCELLED)
    # when computed
    compute(brand)
    # then lifetime value is the sum of the paid orders only, however old
    assert profile(member).lifetime_value == Decimal("350.25")


def test_favourite_categories_are_the_top_three_by_spend(brand, store, member, shoes, bags, coats, hats):
    # given spend by category: coats 500 (two orders, one 2 years ago), shoes 300, hats 300,
    # bags 50, and a refunded bag of 10,000 that must not count
    buy(member, days_ago=700, lines=[(coats, 200)], store=store)
    buy(member, days_ago=3, lines=[(coats, 300), (shoes, 300), (bags, 50)], store=store)
    buy(member, days_ago=2, lines=[(hats, 300)], store=store)
    buy(member, days_ago=1, lines=[(bags, 10000)], store=store, status=OrderStatus.REFUNDED)
    # when computed
    compute(brand)
    # then the top three by spend, a tie ordered by category name
    assert profile(member).favourite_categories == ["coats", "hats", "shoes"]


def test_favourite_categories_leave_out_products_without_a_category(brand, store, member, shoes):
    # given a big spend on a product without a category
    plain = ProductFactory(brand=brand, category="")
    buy(member, days_ago=1, lines=[(plain, 900), (shoes, 10)], store=store)
    # when computed, then only the categorised product is a favourite
    compute(brand)
    assert profile(member).favourite_categories == ["shoes"]


def test_last_store_is_the_store_of_the_newest_order_with_a_store(brand, member, shoes):
    # given an order in store A, a newer one in store B, and a still newer online order
    store_a, store_b = StoreFactory(brand=brand), StoreFactory(brand=brand)
    buy(member, days_ago=20, lines=[(shoes, 10)], store=store_a)
    buy(member, days_ago=10, lines=[(shoes, 10)], store=store_b)
    buy(member, days_ago=1, lines=[(shoes, 10)], store=None, channel=Channel.ONLINE)
    # when computed
    compute(brand)
    # then the last store is B; the online order still counts for recency
    p = profile(member)
    assert p.last_store_id == store_b.pk
    assert p.recency_days == 1


def test_a_member_who_only_bought_online_has_no_last_store(brand, member, shoes):
    buy(member, days_ago=1, lines=[(shoes, 10)], channel=Channel.ONLINE)
    compute(brand)
    assert profile(member).last_store_id is None


def test_scores_are_quintiles_within_the_brand_five_is_best(brand, store, shoes):
    # given five members: member i bought i+1 times, last 50 - 10*i days ago, spending more each
    members = [MemberFactory(brand=brand, store=store) for _ in range(5)]
    for i, m in enumerate(members):
        for k in range(i + 1):
            buy(m, days_ago=50 - 10 * i + k, lines=[(shoes, 10 * (i + 1))], store=store)
    # when computed
    compute(brand)
    # then the most recent, most frequent, highest spending member scores 5 on each, and so on
    scores = [(profile(m).r_score, profile(m).f_score, profile(m).m_score) for m in members]
    assert scores == [(1, 1, 1), (2, 2, 2), (3, 3, 3), (4, 4, 4), (5, 5, 5)]


def test_scores_split_ten_members_two_per_tile(brand, store, shoes):
    # given ten members, each spending more than the last
    members = [MemberFactory(brand=brand, store=store) for _ in range(10)]
    for i, m in enumerate(members):
        buy(m, days_ago=30, lines=[(shoes, 10 * (i + 1))], store=store)
    # when computed, then two members per monetary score, in spending order
    compute(brand)
    assert [profile(m).m_score for m in members] == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]


def test_a_member_without_orders_in_the_window_scores_one_on_frequency_and_monetary(brand, store, shoes):
    # given a big spender of two years ago and two small buyers of last month
    old = MemberFactory(brand=brand, store=store)
    buy(old, days_ago=730, lines=[(shoes, 100000)], store=store)
    recent = [MemberFactory(brand=brand, store=store) for _ in range(2)]
    for m in recent:
        buy(m, days_ago=30, lines=[(shoes, 10)], store=store)
    # when computed
    compute(brand)
    # then the old spender has frequency 0, spend 0 in the window, f = m = 1, and the lowest R
    p = profile(old)
    assert (p.frequency, p.monetary, p.f_score, p.m_score, p.r_score) == (0, Decimal("0"), 1, 1, 1)
    assert p.lifetime_value == Decimal("100000")
    # and the recent buyers are ranked among themselves
    assert sorted(profile(m).f_score for m in recent) == [1, 2]


def test_members_without_counted_orders_get_no_profile_and_stale_rows_go(brand, store, member, shoes):
    # given a member who bought, then had the order refunded, and one who never bought
    never = MemberFactory(brand=brand, store=store)
    order = buy(member, days_ago=5, lines=[(shoes, 10)], store=store)
    compute(brand)
    assert MemberProfile.objects.filter(pk=member.pk).exists()
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.REFUNDED)
    # when computed again
    count = compute(brand)
    # then neither has a profile: the stale row is gone
    assert count == 0
    assert not MemberProfile.objects.filter(pk__in=[member.pk, never.pk]).exists()


def test_another_brands_profiles_are_untouched(brand, other_brand, store, member, shoes):
    # given a profile of brand B computed yesterday
    theirs = MemberFactory(brand=other_brand)
    their_shoes = ProductFactory(brand=other_brand, category="shoes")
    buy(theirs, days_ago=3, lines=[(their_shoes, 70)], store=StoreFactory(brand=other_brand))
    services.compute_profiles(brand_id=other_brand.pk, as_of=NOW - timedelta(days=1))
    before = MemberProfile.objects.filter(brand=other_brand).values().get()
    buy(member, days_ago=1, lines=[(shoes, 10)], store=store)
    # when brand A's profiles are computed
    compute(brand)
    # then brand B's row is exactly as it was, and brand A has only its own member
    assert MemberProfile.objects.filter(brand=other_brand).values().get() == before
    assert list(MemberProfile.objects.filter(brand=brand).values_list("pk", flat=True)) == [member.pk]


def test_a_rerun_is_idempotent(brand, store, shoes, bags):
    # given a few members with orders, profiled once
    for i in range(7):
        m = MemberFactory(brand=brand, store=store)
        buy(m, days_ago=i * 11 + 1, lines=[(shoes, 10 + i), (bags, 5 * i + 1)], store=store)
    compute(brand)
    first = list(MemberProfile.objects.order_by("pk").values())
    # when computed again with the same ledger
    compute(brand)
    # then every row is the same
    assert list(MemberProfile.objects.order_by("pk").values()) == first
    assert len(first) == 7


# --- the run (a job with progress) --------------------------------------------------------------


def test_a_run_reaches_100_percent_and_done(
    brand, store, member, shoes, hq_user, django_capture_on_commit_callbacks
):
    # given a member with an order
    buy(member, days_ago=1, lines=[(shoes, 10)], store=store)
    # when HQ starts a run (the job runs after commit)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_profile_run(brand_id=brand.pk, actor=hq_user)
    # then it is done at 100% with one profile, and the start is audited with its actor
    run.refresh_from_db()
    assert (run.status, run.progress, run.profiles) == (JobStatus.DONE, 100, 1)
    assert run.started_at and run.finished_at
    assert profile(member).r_score == 1
    event = AuditEvent.objects.get(object_type="members.profilerun", object_id=str(run.pk))
    assert event.actor_id == hq_user.pk


def test_progress_is_written_after_each_phase(brand, store, member, shoes, monkeypatch):
    # given a run and a spy on progress
    buy(member, days_ago=1, lines=[(shoes, 10)], store=store)
    run = ProfileRun.objects.create(brand=brand)
    seen = []
    real = services._progress
    monkeypatch.setattr(services, "_progress", lambda r, p, **kw: (seen.append(p), real(r, p, **kw)))
    # when it is carried out
    services.run_profile_computation(run_id=run.pk)
    # then progress rose through the phases to 100
    assert seen == [40, 75, 100]


def test_a_second_start_is_refused_while_a_run_is_going(brand, hq_user):
    # given a run of the brand still pending (its job not yet run)
    ProfileRun.objects.create(brand=brand, status=JobStatus.RUNNING)
    # when HQ starts another, then it is refused with a clear message and nothing is created
    with pytest.raises(Conflict) as refused:
        services.start_profile_run(brand_id=brand.pk, actor=hq_user)
    assert "already running" in refused.value.message
    assert ProfileRun.objects.filter(brand=brand).count() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks across connections")
@pytest.mark.django_db(transaction=True)
def test_concurrent_starts_make_exactly_one_run(monkeypatch):
    # given a brand, and jobs that stay pending (not handed to a worker)
    import threading
    import time

    import retail.jobs
    from retail.tests.factories import BrandFactory

    monkeypatch.setattr(retail.jobs, "enqueue_job", lambda *args: None)
    # and a slow step between taking the brand's lock and looking for a going run, so
    # unserialised starts would all look before any of them writes
    expire = services._expire_dead_runs
    monkeypatch.setattr(services, "_expire_dead_runs", lambda brand_id: (time.sleep(0.2), expire(brand_id)))
    brand = BrandFactory()
    barrier = threading.Barrier(6)
    outcomes = []

    def start():
        try:
            barrier.wait()
            services.start_profile_run(brand_id=brand.pk)
            outcomes.append("started")
        except Conflict:
            outcomes.append("refused")
        finally:
            connection.close()

    # when six HQ admins press the button at once
    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # then one run started and five were refused
    assert sorted(outcomes) == ["refused"] * 5 + ["started"]
    assert ProfileRun.objects.filter(brand=brand).count() == 1


def test_another_brands_run_does_not_block_a_start(
    brand, other_brand, hq_user, django_capture_on_commit_callbacks
):
    ProfileRun.objects.create(brand=other_brand, status=JobStatus.RUNNING)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.start_profile_run(brand_id=brand.pk, actor=hq_user)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE


def test_an_abandoned_run_no_longer_blocks_a_start(brand, hq_user, django_capture_on_commit_callbacks):
    # given a run left running for a day (its worker died)
    dead = ProfileRun.objects.create(brand=brand, status=JobStatus.RUNNING)
    ProfileRun.objects.filter(pk=dead.pk).update(created_at=timezone.now() - timedelta(days=1))
    # when HQ starts a run, then it goes ahead and the dead one is marked failed
    with django_capture_on_commit_callbacks(execute=True):
        services.start_profile_run(brand_id=brand.pk, actor=hq_user)
    dead.refresh_from_db()
    assert dead.status == JobStatus.FAILED


def test_a_finished_run_is_not_carried_out_again(brand, store, member, shoes):
    # given a finished run, and an order that came in later
    run = ProfileRun.objects.create(brand=brand, status=JobStatus.DONE, progress=100)
    buy(member, days_ago=1, lines=[(shoes, 10)], store=store)
    # when its task is delivered again, then nothing is computed
    services.run_profile_computation(run_id=run.pk)
    assert not MemberProfile.objects.exists()


def test_a_failing_run_records_its_error(brand, monkeypatch):
    # given a computation that breaks
    def boom(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "compute_profiles", boom)
    run = ProfileRun.objects.create(brand=brand)
    # when carried out, then the run is failed with the error
    with pytest.raises(RuntimeError):
        services.run_profile_computation(run_id=run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and "disk full" in run.error


def test_the_nightly_task_starts_a_run_for_every_brand(
    brand, other_brand, django_capture_on_commit_callbacks
):
    # given brand B already running one
    ProfileRun.objects.create(brand=other_brand, status=JobStatus.RUNNING)
    # when the nightly task runs
    with django_capture_on_commit_callbacks(execute=True):
        started = compute_all_profiles_task()
    # then brand A got a run (done), brand B was skipped
    assert started == 1
    assert ProfileRun.objects.get(brand=brand).status == JobStatus.DONE
    assert ProfileRun.objects.filter(brand=other_brand).count() == 1


# --- selectors ----------------------------------------------------------------------------------


def test_rfm_distribution_is_scoped_to_a_store_managers_members(brand, store, shoes, manager_user):
    # given two members of the manager's store and one of another store
    other_store = StoreFactory(brand=brand)
    mine = [MemberFactory(brand=brand, store=store) for _ in range(2)]
    theirs = MemberFactory(brand=brand, store=other_store)
    for m in [*mine, theirs]:
        buy(m, days_ago=1, lines=[(shoes, 10)], store=store)
    compute(brand)
    # when the manager and HQ read the distribution
    manager = principal_for_role(manager_user.staff_roles.get())
    as_manager = selectors.rfm_distribution(principal=manager)
    as_hq = selectors.rfm_distribution(principal=hq_principal(brand))
    # then the manager counts their two, HQ all three, in a full 5×5 grid
    assert as_manager["total"] == 2 and as_hq["total"] == 3
    assert len(as_hq["cells"]) == 25 and sum(c["n"] for c in as_hq["cells"]) == 3


def test_a_guide_sees_the_profiles_of_their_own_members_only(brand, store, shoes, guide_user):
    # given a member recruited by the guide and one recruited by nobody, both with orders
    mine = MemberFactory(brand=brand, store=store, guide=guide_user)
    other = MemberFactory(brand=brand, store=store)
    for m in (mine, other):
        buy(m, days_ago=1, lines=[(shoes, 10)], store=store)
    compute(brand)
    # when the guide reads the summary, then only their member counts
    guide = principal_for_role(guide_user.staff_roles.get())
    assert selectors.profile_summary(principal=guide)["members"] == 1
    assert list(selectors.profiles_for(principal=guide).values_list("pk", flat=True)) == [mine.pk]


# --- pages --------------------------------------------------------------------------------------


PROFILES = "/members/profiles/"


def test_hq_starts_a_computation_and_sees_it_done(
    client, brand, store, member, shoes, hq_user, django_capture_on_commit_callbacks
):
    # given HQ on the profiles page, a member with an order
    buy(member, days_ago=1, lines=[(shoes, 10)], store=store)
    client.force_login(hq_user)
    assert client.get(reverse("members:profiles")).status_code == 200
    # when they press the button (htmx)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("members:profile_run_start"), HTTP_HX_REQUEST="true")
    # then the progress bar answers, and the run is done
    assert response.status_code == 200
    assert "<progress" in response.content.decode()
    run = ProfileRun.objects.get(brand=brand)
    assert run.status == JobStatus.DONE
    # and the page lists it and shows the member in the heatmap's data
    html = client.get(PROFILES).content.decode()
    assert 'id="rfm-cells"' in html and "1 profiled member" in html


def test_a_start_without_htmx_redirects_back_to_the_page(
    client, brand, hq_user, django_capture_on_commit_callbacks
):
    client.force_login(hq_user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("members:profile_run_start"))
    assert response.status_code == 302 and response["Location"] == PROFILES


def test_a_second_start_from_the_page_says_why_and_creates_nothing(client, brand, hq_user):
    # given a run going
    ProfileRun.objects.create(brand=brand, status=JobStatus.RUNNING, progress=40)
    client.force_login(hq_user)
    # when HQ presses the button, then the refusal is shown, no second run
    response = client.post(reverse("members:profile_run_start"), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "already running" in html
    assert 'hx-trigger="every 1s"' in html  # and the going run's bar, still polling
    assert ProfileRun.objects.filter(brand=brand).count() == 1
    # and the page shows the running run's progress, polling, with the button disabled
    html = client.get(PROFILES).content.decode()
    assert 'hx-trigger="every 1s"' in html and 'value="40"' in html


def test_the_status_route_polls_until_done_then_refreshes_the_page(client, brand, hq_user):
    run = ProfileRun.objects.create(brand=brand, status=JobStatus.RUNNING, progress=75)
    client.force_login(hq_user)
    url = reverse("members:profile_run", kwargs={"run_id": run.pk})
    running = client.get(url, HTTP_HX_REQUEST="true")
    assert 'hx-trigger="every 1s"' in running.content.decode() and "HX-Refresh" not in running
    ProfileRun.objects.filter(pk=run.pk).update(status=JobStatus.DONE, progress=100, profiles=3)
    done = client.get(url, HTTP_HX_REQUEST="true")
    assert "every 1s" not in done.content.decode() and done["HX-Refresh"] == "true"


@pytest.mark.parametrize("who", ["manager_user", "guide_user"])
def test_store_staff_see_the_page_but_may_not_start(client, request, brand, who):
    user = request.getfixturevalue(who)
    client.force_login(user)
    page = client.get(PROFILES)
    assert page.status_code == 200
    assert "Compute profiles now" not in page.content.decode()
    assert client.post(reverse("members:profile_run_start"), HTTP_HX_REQUEST="true").status_code == 403
    assert not ProfileRun.objects.exists()


def test_the_profiles_page_runs_a_fixed_number_of_queries(client, brand, store, shoes, hq_user):
    # given HQ, and the page's query count with one profiled member and one run
    from django.db import connection as db
    from django.test.utils import CaptureQueriesContext

    client.force_login(hq_user)
    client.get(PROFILES)  # the user's roles: read once, then cached

    def queries() -> int:
        with CaptureQueriesContext(db) as captured:
            assert client.get(PROFILES).status_code == 200
        return len(captured)

    buy(MemberFactory(brand=brand, store=store), days_ago=1, lines=[(shoes, 10)], store=store)
    compute(brand)
    ProfileRun.objects.create(brand=brand, status=JobStatus.DONE, progress=100, profiles=1)
    small = queries()
    # when there are more members, profiles and runs (and a new run empties the cache)
    for i in range(6):
        buy(MemberFactory(brand=brand, store=store), days_ago=i + 2, lines=[(shoes, 10)], store=store)
        ProfileRun.objects.create(brand=brand, status=JobStatus.DONE, progress=100, profiles=i)
    compute(brand)
    # then the page asks the database the same number of times
    assert queries() == small


def test_profiles_pages_require_login(client, brand):
    response = client.get(PROFILES)
    assert response.status_code == 302 and "login" in response["Location"]


def test_a_user_without_a_role_is_refused(client, brand):
    client.force_login(UserFactory(username="nobody"))
    assert client.get(PROFILES).status_code == 403


def test_member_page_shows_the_profile_section(client, brand, store, member, shoes, bags, hq_user):
    # given a computed profile
    buy(member, days_ago=3, lines=[(shoes, "1234.50"), (bags, 20)], store=store)
    compute(brand)
    client.force_login(hq_user)
    # when HQ opens the member's page
    html = client.get(reverse("members:member_detail", kwargs={"member_id": member.pk})).content.decode()
    # then the section shows scores, recency, spend in CNY, categories and the last store
    section = html[html.index('id="member-profile"') :]
    section = section[: section.index("</section>")]
    assert "R 1" in section and "F 1" in section and "M 1" in section
    assert "1,254.50" in section
    assert "shoes" in section and "bags" in section and store.name in section
    assert "Not computed yet" not in section


def test_member_page_says_not_computed_yet_without_a_profile(client, member, hq_user):
    client.force_login(hq_user)
    html = client.get(reverse("members:member_detail", kwargs={"member_id": member.pk})).content.decode()
    assert 'id="member-profile"' in html and "Not computed yet" in html


def test_profile_pages_render_in_chinese(client, brand, store, member, shoes, hq_user):
    # given a computed profile, HQ reading in Simplified Chinese
    buy(member, days_ago=3, lines=[(shoes, 88)], store=store)
    compute(brand)
    client.force_login(hq_user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    # when they open the profiles page and the member's page, then both render in Chinese
    page = client.get(PROFILES)
    detail = client.get(reverse("members:member_detail", kwargs={"member_id": member.pk}))
    for response in (page, detail):
        assert response.status_code == 200
        assert 'lang="zh-hans"' in response.content.decode()
    assert "会员" in page.content.decode()


def test_profile_pages_show_the_chinese_translations(client, brand, store, member, shoes, hq_user):
    # given a computed profile and HQ reading in Simplified Chinese
    buy(member, days_ago=3, lines=[(shoes, 88)], store=store)
    compute(brand)
    client.force_login(hq_user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    # when they open the profiles page and the member's page
    page = client.get(PROFILES).content.decode()
    detail = client.get(reverse("members:member_detail", kwargs={"member_id": member.pk})).content.decode()
    # then the new strings are in Chinese, none left in English
    assert "会员画像" in page and "得分概览" in page and "立即计算画像" in page
    assert "Score summary" not in page and "Compute profiles now" not in page
    assert "生命周期价值" in detail and "偏好品类" in detail and "Lifetime value" not in detail


# --- PostgreSQL: the SQL against a plain Python computation -------------------------------------


def _python_profiles(brand, as_of):
    """The definitions, computed the slow obvious way."""
    since = as_of - timedelta(days=365)
    orders = list(
        Order.objects.filter(brand=brand, status=OrderStatus.PAID, member__isnull=False, paid_at__lte=as_of)
    )
    by_member: dict[int, list[Order]] = {}
    for o in orders:
        by_member.setdefault(o.member_id, []).append(o)
    spend: dict[int, dict[str, Decimal]] = {}
    for line in OrderLine.objects.filter(order__in=orders).select_related("product", "order"):
        if line.product.category:
            cats = spend.setdefault(line.order.member_id, {})
            cats[line.product.category] = cats.get(line.product.category, Decimal(0)) + line.line_total
    rows = {}
    for member_id, mine in by_member.items():
        window = [o for o in mine if o.paid_at > since]
        last = max(mine, key=lambda o: o.paid_at)
        with_store = [o for o in mine if o.store_id]
        cats = spend.get(member_id, {})
        rows[member_id] = {
            "first_order_at": min(o.paid_at for o in mine),
            "last_order_at": last.paid_at,
            "recency_days": int((as_of - last.paid_at).total_seconds() // 86400),
            "frequency": len(window),
            "monetary": sum((o.total for o in window), Decimal(0)),
            "lifetime_value": sum((o.total for o in mine), Decimal(0)),
            "last_store_id": max(with_store, key=lambda o: (o.paid_at, o.id)).store_id
            if with_store
            else None,
            "favourite_categories": [c for c, _ in sorted(cats.items(), key=lambda kv: (-kv[1], kv[0]))[:3]],
        }

    def ntile(ids_in_order):
        n, scores = len(ids_in_order), {}
        big, rest = divmod(n, 5)  # NTILE: the first `rest` tiles get one more
        i = 0
        for tile in range(1, 6):
            size = big + (1 if tile <= rest else 0)
            for member_id in ids_in_order[i : i + size]:
                scores[member_id] = tile
            i += size
        return scores

    r = ntile(sorted(rows, key=lambda m: (rows[m]["last_order_at"], m)))
    active = [m for m in rows if rows[m]["frequency"] > 0]
    f = ntile(sorted(active, key=lambda m: (rows[m]["frequency"], m)))
    mon = ntile(sorted(active, key=lambda m: (rows[m]["monetary"], m)))
    for m, row in rows.items():
        row.update(r_score=r[m], f_score=f.get(m, 1), m_score=mon.get(m, 1))
    return rows


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the PostgreSQL path")
def test_postgresql_profiles_equal_a_plain_python_computation_on_random_data(brand, other_brand):
    # given 60 members with random orders over two years in four stores, some refunded
    rnd = random.Random(7)
    stores = [StoreFactory(brand=brand) for _ in range(4)]
    products = [ProductFactory(brand=brand, category=c) for c in ("a", "b", "c", "d", "e", "")]
    members = [MemberFactory(brand=brand, store=rnd.choice(stores)) for _ in range(60)]
    for m in members[:55]:
        for _ in range(rnd.randint(1, 6)):
            lines = [
                (p, Decimal(rnd.randint(100, 99999)) / 100) for p in rnd.sample(products, rnd.randint(1, 3))
            ]
            buy(
                m,
                days_ago=rnd.uniform(0, 730),
                lines=lines,
                store=rnd.choice([*stores, None]),
                status=rnd.choice([OrderStatus.PAID] * 8 + [OrderStatus.REFUNDED, OrderStatus.CANCELLED]),
            )
    # and a brand B member, whose orders must not leak in
    theirs = MemberFactory(brand=other_brand)
    buy(theirs, days_ago=1, lines=[(ProductFactory(brand=other_brand, category="z"), 5)])
    # when computed in SQL
    compute(brand)
    # then each row equals the Python computation
    expected = _python_profiles(brand, NOW)
    got = {
        p["member_id"]: p
        for p in MemberProfile.objects.filter(brand=brand).values(
            "member_id", *next(iter(expected.values())).keys()
        )
    }
    assert set(got) == set(expected)
    for member_id, row in expected.items():
        assert {k: got[member_id][k] for k in row} == row, member_id
