"""Segments: the builder's live count and preview (scoped, keyset, constant queries), saving,
materialisation (set-based, replaces the membership at once), consent per channel at every
step, CSV export (masked, audited), rule tags refreshed set-based."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from members.choices import JobStatus, TagSource
from members.models import Member, MemberProfile, MemberTag, Segment, SegmentMember, Tag
from members.rules import RuleError
from members.selectors import segments as selectors
from members.services import segments as services
from members.tests.factories import MemberFactory
from retail.models import AuditEvent
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db

SMS_ONLY = {"match": "all", "conditions": []}


def scored(member, r=3):
    MemberProfile.objects.create(
        member=member, brand_id=member.brand_id, computed_at=timezone.now(), r_score=r, f_score=3, m_score=3
    )
    return member


def r_between(low, high):
    return {"match": "all", "conditions": [{"field": "r_score", "op": "between", "value": [low, high]}]}


@pytest.fixture
def run_jobs(django_capture_on_commit_callbacks):
    """Background jobs started inside the block run when it ends (JOBS_INLINE, after commit)."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def builder_post(**extra):
    """The builder's form as the browser posts it: one R-score row."""
    data = {"name": "Best", "channel": "", "match": "all", "c-count": "1", "c-0-field": "r_score",
            "c-0-op": "between", "c-0-low": "4", "c-0-high": "5"}  # fmt: skip
    data.update(extra)
    return data


# --- materialisation --------------------------------------------------------------------------


def test_materialising_writes_exactly_the_matching_members_and_records_the_size(brand, other_brand, run_jobs):
    # given members with R scores 1..5 and a member of another brand with R 5
    members = [scored(MemberFactory(brand=brand), r) for r in (1, 2, 3, 4, 5)]
    scored(MemberFactory(brand=other_brand), 5)
    # when a segment "R 4–5" is saved (materialised by the job, inline in tests)
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="Best", rules=r_between(4, 5))
    segment.refresh_from_db()
    # then it holds the two best members of its brand, and says so
    assert set(SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True)) == {
        members[3].pk,
        members[4].pk,
    }
    assert (segment.status, segment.progress, segment.size) == (JobStatus.DONE, 100, 2)
    assert segment.materialised_at is not None


def test_materialising_in_small_chunks_gives_the_same_members(brand):
    members = [scored(MemberFactory(brand=brand), 5) for _ in range(7)]
    segment = services.save_segment(brand_id=brand.pk, name="Best", rules=r_between(5, 5), materialise=False)
    size = services.materialise_segment(segment_id=segment.pk, chunk=2)
    assert size == 7
    assert set(SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True)) == {
        m.pk for m in members
    }


def test_rematerialising_replaces_the_membership_and_a_repeat_changes_nothing(brand, run_jobs):
    # given a materialised segment
    first = scored(MemberFactory(brand=brand), 5)
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="Best", rules=r_between(5, 5))
    # when the first member falls out and another comes in, and it is materialised twice
    MemberProfile.objects.filter(pk=first.pk).update(r_score=1)
    second = scored(MemberFactory(brand=brand), 5)
    services.materialise_segment(segment_id=segment.pk)
    services.materialise_segment(segment_id=segment.pk)
    # then only the new member is in, once
    assert list(SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True)) == [
        second.pk
    ]


def test_a_failing_materialisation_keeps_the_old_members_and_says_it_failed(brand, run_jobs):
    member = scored(MemberFactory(brand=brand), 5)
    tag = Tag.objects.create(brand=brand, name="gone soon")
    rules = {"match": "any", "conditions": [
        {"field": "r_score", "op": "between", "value": [5, 5]},
        {"field": "tags", "op": "any_of", "value": [tag.pk]},
    ]}  # fmt: skip
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="Best", rules=rules)
    # when a tag the rules name is deleted, the next run cannot validate them
    tag.delete()
    with pytest.raises(RuleError):
        services.materialise_segment(segment_id=segment.pk)
    segment.refresh_from_db()
    assert segment.status == JobStatus.FAILED
    assert "unknown id" in segment.error
    assert list(SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True)) == [
        member.pk
    ]


# --- consent ----------------------------------------------------------------------------------


def test_opted_out_members_never_appear_in_a_segment_built_for_that_channel(client, brand, hq_user, run_jobs):
    # given members who accept SMS and one who refused it, all matching the rules
    accepting = [MemberFactory(brand=brand, consent_sms=True) for _ in range(2)]
    refused = MemberFactory(brand=brand, consent_sms=False)
    client.force_login(hq_user)
    # when the count and preview are asked for the SMS channel
    data = {"match": "all", "channel": "sms", "c-count": "0"}
    count = client.post(reverse("members:segment_count"), data)
    preview = client.post(reverse("members:segment_preview"), data)
    # then the member who refused is not counted nor previewed
    assert 'data-count="2"' in count.content.decode()
    assert refused.member_no not in preview.content.decode()
    assert all(m.member_no in preview.content.decode() for m in accepting)
    # and a segment for SMS materialises without them
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="Texts", rules=SMS_ONLY, channel="sms")
    assert set(SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True)) == {
        m.pk for m in accepting
    }
    # when one of them opts out after materialisation
    from members import services as member_services

    member_services.record_consent(member=accepting[0], channel="sms", granted=False, source="store")
    # then they vanish from the segment's page, its export and the member's segments at once
    page = client.get(reverse("members:segment_detail", kwargs={"segment_id": segment.pk}))
    assert accepting[0].member_no not in page.content.decode()
    assert accepting[1].member_no in page.content.decode()
    export = b"".join(
        client.get(reverse("members:segment_export", kwargs={"segment_id": segment.pk})).streaming_content
    )
    assert accepting[0].member_no not in export.decode()
    assert accepting[1].member_no in export.decode()
    assert refused.member_no not in export.decode()
    hq = client.get("/").wsgi_request.principal
    assert list(selectors.segments_of(principal=hq, member=accepting[0])) == []
    assert list(selectors.segments_of(principal=hq, member=accepting[1])) == [segment]


def test_a_segment_without_channel_keeps_members_whatever_their_consent(brand, run_jobs):
    refused = MemberFactory(brand=brand, consent_sms=False, consent_call=False, consent_chat=False)
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="All", rules=SMS_ONLY)
    assert list(SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True)) == [
        refused.pk
    ]


# --- the builder's pages ----------------------------------------------------------------------


def test_the_live_count_follows_the_rules(client, brand, hq_user):
    for r in (1, 4, 5, 5):
        scored(MemberFactory(brand=brand), r)
    client.force_login(hq_user)
    url = reverse("members:segment_count")
    assert 'data-count="3"' in client.post(url, builder_post()).content.decode()
    assert 'data-count="2"' in client.post(url, builder_post(**{"c-0-low": "5"})).content.decode()


def test_an_incomplete_rule_shows_its_problem_instead_of_a_count(client, brand, hq_user):
    client.force_login(hq_user)
    response = client.post(reverse("members:segment_count"), builder_post(**{"c-0-low": "9"}))
    assert response.status_code == 200
    assert 'data-count=""' in response.content.decode()
    assert "from 1 to 5" in response.content.decode()
    bad_field = client.post(reverse("members:segment_count"), builder_post(**{"c-0-field": "<script>"}))
    assert bad_field.status_code == 200  # an unknown field falls back to the first one, never a 500


def test_a_store_manager_counts_and_previews_only_their_stores_members(client, brand, store, manager_user):
    mine = scored(MemberFactory(brand=brand, store=store), 5)
    theirs = scored(MemberFactory(brand=brand, store=StoreFactory(brand=brand)), 5)
    client.force_login(manager_user)
    count = client.post(reverse("members:segment_count"), builder_post())
    preview = client.post(reverse("members:segment_preview"), builder_post())
    assert 'data-count="1"' in count.content.decode()
    assert mine.member_no in preview.content.decode()
    assert theirs.member_no not in preview.content.decode()


def test_adding_and_removing_condition_rows_re_renders_the_builder(client, brand, hq_user):
    client.force_login(hq_user)
    url = reverse("members:segment_conditions")
    added = client.post(url, builder_post(add="1", add_field="consent_sms"))
    body = added.content.decode()
    assert 'name="c-count" value="2"' in body
    assert 'name="c-1-flag"' in body
    assert added["HX-Trigger"] == "rules-changed"
    removed = client.post(url, builder_post(remove="0"))
    assert 'name="c-count" value="0"' in removed.content.decode()


def test_saving_the_builder_creates_the_segment_and_opens_its_page(client, brand, hq_user, run_jobs):
    scored(MemberFactory(brand=brand), 5)
    client.force_login(hq_user)
    with run_jobs():
        response = client.post(reverse("members:segment_new"), builder_post(channel="sms"))
    segment = Segment.objects.get(brand=brand, name="Best")
    assert response.status_code == 302
    assert response["Location"] == reverse("members:segment_detail", kwargs={"segment_id": segment.pk})
    assert segment.rules == r_between(4, 5)
    assert (segment.channel, segment.size, segment.created_by) == ("sms", 1, hq_user)
    assert AuditEvent.objects.filter(object_type="members.segment", object_id=str(segment.pk)).exists()
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert "Materialise now" in page.content.decode()


def test_saving_with_bad_rules_or_a_taken_name_changes_nothing(client, brand, hq_user, run_jobs):
    client.force_login(hq_user)
    bad = client.post(reverse("members:segment_new"), builder_post(**{"c-0-high": "x"}))
    assert bad.status_code == 400
    assert not Segment.objects.exists()
    with run_jobs():
        services.save_segment(brand_id=brand.pk, name="Best", rules=SMS_ONLY)
    taken = client.post(reverse("members:segment_new"), builder_post())
    assert taken.status_code == 400
    assert "Already used" in taken.content.decode()
    assert Segment.objects.count() == 1


def test_editing_a_segment_shows_its_rules_and_saves_the_change(client, brand, hq_user, run_jobs):
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="Best", rules=r_between(4, 5))
    client.force_login(hq_user)
    url = reverse("members:segment_edit", kwargs={"segment_id": segment.pk})
    page = client.get(url).content.decode()
    assert 'name="c-0-low" min="1" max="5" step="1" value="4"' in page
    with run_jobs():
        client.post(url, builder_post(name="Best of all", **{"c-0-low": "5"}))
    segment.refresh_from_db()
    assert (segment.name, segment.rules) == ("Best of all", r_between(5, 5))


def test_materialise_now_and_the_status_block(client, brand, hq_user, run_jobs):
    segment = services.save_segment(brand_id=brand.pk, name="Best", rules=SMS_ONLY, materialise=False)
    client.force_login(hq_user)
    status = client.get(reverse("members:segment_status", kwargs={"segment_id": segment.pk}))
    assert 'hx-trigger="every 1s"' in status.content.decode()  # waiting: it polls
    MemberFactory(brand=brand)
    with run_jobs():
        response = client.post(
            reverse("members:segment_materialise", kwargs={"segment_id": segment.pk}), HTTP_HX_REQUEST="true"
        )
    # the answer shows the job waiting (it starts after the commit) ...
    assert "every 1s" in response.content.decode()
    segment.refresh_from_db()
    assert (segment.status, segment.size) == (JobStatus.DONE, 1)
    # ... and the next poll finds it done and tells the members list to reload
    done = client.get(reverse("members:segment_status", kwargs={"segment_id": segment.pk}))
    assert done["HX-Trigger"] == "segment-done"
    assert "every 1s" not in done.content.decode()


def test_progress_while_running_comes_from_the_live_figure(brand):
    from django.core.cache import cache

    segment = Segment.objects.create(brand=brand, name="s", rules={}, status=JobStatus.RUNNING, progress=0)
    cache.set(services._progress_key(segment.pk), 40)
    assert services.materialise_progress(segment=segment) == 40


def test_the_export_is_masked_streamed_and_audited(client, brand, hq_user, run_jobs):
    members = [MemberFactory(brand=brand, phone=f"1380000{i:04d}", name="王小明") for i in range(3)]
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="All", rules=SMS_ONLY)
    client.force_login(hq_user)
    response = client.get(reverse("members:segment_export", kwargs={"segment_id": segment.pk}))
    assert response.streaming
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert len(rows) == 1 + 3
    assert {r[0] for r in rows[1:]} == {m.member_no for m in members}
    assert "13800000001" not in body and "王小明" not in body  # masked only
    assert "138****0001" in body
    assert AuditEvent.objects.filter(
        object_type="members.segment", object_id=str(segment.pk), action="export"
    ).exists()


def test_the_segment_list_shows_size_and_status(client, brand, hq_user, run_jobs):
    MemberFactory(brand=brand)
    with run_jobs():
        services.save_segment(brand_id=brand.pk, name="Everyone", rules=SMS_ONLY)
    client.force_login(hq_user)
    body = client.get(reverse("members:segment_list")).content.decode()
    assert "Everyone" in body and "Done" in body


def test_a_store_manager_sees_only_their_stores_members_of_a_segment(
    client, brand, store, manager_user, run_jobs
):
    mine = MemberFactory(brand=brand, store=store)
    theirs = MemberFactory(brand=brand, store=StoreFactory(brand=brand))
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="All", rules=SMS_ONLY)
    client.force_login(manager_user)
    body = client.get(reverse("members:segment_detail", kwargs={"segment_id": segment.pk})).content.decode()
    assert mine.member_no in body and theirs.member_no not in body


# --- constant queries per page ----------------------------------------------------------------


def _queries(client, method, url, data=None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = getattr(client, method)(url, data or {})
        assert response.status_code == 200
    return len(ctx.captured_queries)


def test_store_member_list_and_preview_run_a_constant_number_of_queries(client, brand, store, hq_user):
    client.force_login(hq_user)
    list_url = reverse("members:member_list")
    preview_url = reverse("members:segment_preview")
    client.get(list_url)  # the user's roles: read once, then cached
    # given a store with a few members
    for _ in range(3):
        scored(MemberFactory(brand=brand, store=store), 5)
    small_list = _queries(client, "get", list_url, {"store": store.pk})
    small_preview = _queries(client, "post", preview_url, builder_post())
    # when it has several pages of them
    made = [scored(MemberFactory(brand=brand, store=store), 5) for _ in range(120)]
    first_list = _queries(client, "get", list_url, {"store": store.pk})
    later_list = _queries(client, "get", list_url, {"store": store.pk, "after": made[60].pk})
    first_preview = _queries(client, "post", preview_url, builder_post())
    later_preview = _queries(client, "post", preview_url, builder_post(after=str(made[60].pk)))
    # then every page costs the same queries, whatever the page or the member count
    assert small_list == first_list == later_list
    assert small_preview == first_preview == later_preview


def test_segment_member_pages_run_a_constant_number_of_queries(client, brand, hq_user, run_jobs):
    client.force_login(hq_user)
    MemberFactory(brand=brand)
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="All", rules=SMS_ONLY)
    url = reverse("members:segment_detail", kwargs={"segment_id": segment.pk})
    client.get(url)  # the user's roles: read once, then cached
    small = _queries(client, "get", url)
    made = [MemberFactory(brand=brand) for _ in range(110)]
    services.materialise_segment(segment_id=segment.pk)
    assert small == _queries(client, "get", url) == _queries(client, "get", url, {"after": made[50].pk})


# --- rule tags --------------------------------------------------------------------------------


def test_refreshing_a_rule_tag_adds_matching_and_removes_no_longer_matching_members(brand):
    # given a rule tag "R5" and members, one of whom also has it by hand
    best = scored(MemberFactory(brand=brand), 5)
    by_hand = scored(MemberFactory(brand=brand), 1)
    other = scored(MemberFactory(brand=brand), 2)
    tag = services.create_tag(brand_id=brand.pk, name="R5", rule=r_between(5, 5))
    MemberTag.objects.create(brand=brand, member=by_hand, tag=tag, source=TagSource.MANUAL)
    # when it is refreshed
    assert services.refresh_rule_tag(tag_id=tag.pk) == {"added": 1, "removed": 0}
    assert set(MemberTag.objects.filter(tag=tag).values_list("member_id", "source")) == {
        (best.pk, TagSource.RULE),
        (by_hand.pk, TagSource.MANUAL),
    }
    # and after the scores change it is refreshed again (twice: a repeat changes nothing)
    MemberProfile.objects.filter(pk=best.pk).update(r_score=1)
    MemberProfile.objects.filter(pk=other.pk).update(r_score=5)
    assert services.refresh_rule_tag(tag_id=tag.pk) == {"added": 1, "removed": 1}
    assert services.refresh_rule_tag(tag_id=tag.pk) == {"added": 0, "removed": 0}
    # then the rule follows the scores and the hand-given tag stays
    assert set(MemberTag.objects.filter(tag=tag).values_list("member_id", "source")) == {
        (other.pk, TagSource.RULE),
        (by_hand.pk, TagSource.MANUAL),
    }


def test_the_tags_page_lists_counts_and_creates_a_rule_tag_that_is_applied(client, brand, hq_user, run_jobs):
    best = scored(MemberFactory(brand=brand), 5)
    scored(MemberFactory(brand=brand), 1)
    client.force_login(hq_user)
    with run_jobs():
        response = client.post(
            reverse("members:tag_list"), builder_post(name="Champions", **{"c-0-low": "5"})
        )
    with run_jobs():
        tag = Tag.objects.get(brand=brand, name="Champions")
    assert response.status_code == 302
    assert tag.rule == r_between(5, 5)
    assert list(MemberTag.objects.filter(tag=tag).values_list("member_id", flat=True)) == [best.pk]
    listing = client.get(reverse("members:tag_list")).content.decode()
    with run_jobs():
        assert "Champions" in listing
    detail = client.get(reverse("members:tag_detail", kwargs={"tag_id": tag.pk})).content.decode()
    assert best.member_no in detail
    # a refresh after the member's score falls takes the tag off
    MemberProfile.objects.filter(pk=best.pk).update(r_score=2)
    with run_jobs():
        client.post(reverse("members:tag_refresh", kwargs={"tag_id": tag.pk}))
    assert not MemberTag.objects.filter(tag=tag).exists()


def test_a_rule_tag_with_bad_rules_is_not_created(client, brand, hq_user):
    client.force_login(hq_user)
    response = client.post(reverse("members:tag_list"), builder_post(name="Bad", **{"c-0-low": "0"}))
    assert response.status_code == 400
    assert not Tag.objects.exists()
    assert Member.objects.count() == 0


def test_the_segment_page_names_the_tags_and_stores_its_rules_use(client, brand, hq_user):
    tag = Tag.objects.create(brand=brand, name="Loves silk")
    shop = StoreFactory(brand=brand, name="Nanjing West Road")
    rules = {"match": "all", "conditions": [
        {"field": "tags", "op": "any_of", "value": [tag.pk]},
        {"field": "store", "op": "in", "value": [shop.pk]},
    ]}  # fmt: skip
    segment = services.save_segment(brand_id=brand.pk, name="Silk", rules=rules, materialise=False)
    client.force_login(hq_user)
    body = client.get(reverse("members:segment_detail", kwargs={"segment_id": segment.pk})).content.decode()
    assert "has any of Loves silk" in body
    assert "Nanjing West Road" in body


def test_the_export_under_asgi_streams_batch_by_batch(client, brand, hq_user, run_jobs, monkeypatch):
    # given a segment of five members, exported two at a time
    from asgiref.sync import async_to_sync
    from django.test import AsyncRequestFactory

    from members.views import segments as views

    monkeypatch.setattr(views, "EXPORT_BATCH", 2)
    members = [MemberFactory(brand=brand) for _ in range(5)]
    with run_jobs():
        segment = services.save_segment(brand_id=brand.pk, name="All", rules=SMS_ONLY)
    client.force_login(hq_user)
    request = AsyncRequestFactory().get(reverse("members:segment_export", kwargs={"segment_id": segment.pk}))
    request.user, request.principal = hq_user, client.get("/").wsgi_request.principal
    # when an ASGI server asks for it
    response = views.segment_export(request, segment_id=segment.pk)
    assert response.is_async  # an async iterator: ASGI does not read it whole into memory first

    async def read() -> list[bytes]:
        return [part async for part in response]

    parts = async_to_sync(read)()
    # then the header and each batch of two arrive as parts, every member once
    assert len(parts) == 1 + 3
    body = b"".join(parts).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert sorted(row[0] for row in rows[1:]) == sorted(m.member_no for m in members)


# --- PostgreSQL: readers and concurrent runs --------------------------------------------------


def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("concurrency is tested on PostgreSQL (SQLite serialises writers)")


@pytest.mark.django_db(transaction=True)
def test_readers_see_the_old_members_until_a_rematerialisation_commits(brand, monkeypatch):
    import threading

    _postgres_only()
    # given a materialised segment of three members
    old = [scored(MemberFactory(brand=brand), 5) for _ in range(3)]
    segment = services.save_segment(brand_id=brand.pk, name="Best", rules=r_between(5, 5), materialise=False)
    services.materialise_segment(segment_id=segment.pk)
    # and then the scores change: two new members match, the old ones no longer
    MemberProfile.objects.filter(pk__in=[m.pk for m in old]).update(r_score=1)
    new = [scored(MemberFactory(brand=brand), 5) for _ in range(2)]
    started, proceed = threading.Event(), threading.Event()
    original = services._execute

    def slow_execute(sql, params):
        rowcount = original(sql, params)
        started.set()
        proceed.wait(timeout=10)
        return rowcount

    monkeypatch.setattr(services, "_execute", slow_execute)

    def run():
        try:
            services.materialise_segment(segment_id=segment.pk, chunk=1)
        finally:
            connection.close()

    worker = threading.Thread(target=run)
    worker.start()
    # when a reader looks while the run is half-way through
    assert started.wait(timeout=10)
    halfway = set(SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True))
    running = Segment.objects.get(pk=segment.pk).status
    proceed.set()
    worker.join()
    # then it saw the whole old segment (running), and afterwards the whole new one
    assert halfway == {m.pk for m in old}
    assert running == JobStatus.RUNNING
    assert set(SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True)) == {
        m.pk for m in new
    }


@pytest.mark.django_db(transaction=True)
def test_concurrent_materialisations_of_one_segment_end_with_one_clean_membership(brand):
    import threading

    _postgres_only()
    members = [scored(MemberFactory(brand=brand), 5) for _ in range(20)]
    segment = services.save_segment(brand_id=brand.pk, name="Best", rules=r_between(5, 5), materialise=False)
    barrier, errors = threading.Barrier(4), []

    def run():
        barrier.wait()
        try:
            services.materialise_segment(segment_id=segment.pk, chunk=5)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(
        SegmentMember.objects.filter(segment=segment).values_list("member_id", flat=True)
    ) == sorted(m.pk for m in members)
    segment.refresh_from_db()
    assert (segment.status, segment.size) == (JobStatus.DONE, 20)


def test_a_guide_may_look_but_not_define_or_materialise_segments_and_rule_tags(client, brand, guide_user):
    segment = services.save_segment(brand_id=brand.pk, name="Best", rules=r_between(4, 5), materialise=False)
    tag = services.create_tag(brand_id=brand.pk, name="Champions", rule=r_between(5, 5))
    client.force_login(guide_user)
    listing = client.get(reverse("members:segment_list"))
    assert listing.status_code == 200
    assert reverse("members:segment_new") not in listing.content.decode()
    assert client.post(reverse("members:segment_new"), builder_post(name="Mine")).status_code == 403
    edit = reverse("members:segment_edit", kwargs={"segment_id": segment.pk})
    assert client.post(edit, builder_post(name="Renamed")).status_code == 403
    materialise = reverse("members:segment_materialise", kwargs={"segment_id": segment.pk})
    assert client.post(materialise).status_code == 403
    assert client.post(reverse("members:tag_list"), builder_post(name="New")).status_code == 403
    assert client.post(reverse("members:tag_refresh", kwargs={"tag_id": tag.pk})).status_code == 403
    segment.refresh_from_db()
    assert (segment.name, segment.status) == ("Best", JobStatus.PENDING)
    assert list(Segment.objects.values_list("name", flat=True)) == ["Best"]
    assert list(Tag.objects.values_list("name", flat=True)) == ["Champions"]


def test_the_nightly_task_refreshes_every_rule_tag_of_every_brand(brand, other_brand):
    from members.tasks.segments import refresh_all_rule_tags_task

    ours = scored(MemberFactory(brand=brand), 5)
    theirs = scored(MemberFactory(brand=other_brand), 5)
    tags = [services.create_tag(brand_id=b.pk, name="R5", rule=r_between(5, 5)) for b in (brand, other_brand)]
    Tag.objects.create(brand=brand, name="by hand")
    assert refresh_all_rule_tags_task() == 2
    assert list(MemberTag.objects.filter(tag=tags[0]).values_list("member_id", flat=True)) == [ours.pk]
    assert list(MemberTag.objects.filter(tag=tags[1]).values_list("member_id", flat=True)) == [theirs.pk]
