"""The member pages: find by phone / number / external id, keyset list, member page, reveal."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from members.models import Member
from members.tests.factories import MemberFactory
from retail.choices import AuditAction, Role
from retail.models import AuditEvent
from retail.tests.factories import OrderFactory, StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "member-rows"}


def grant_reveal(user) -> None:
    """Give a user the reveal permission (get_or_create: the permission's migration may not
    have landed yet)."""
    perm, _ = Permission.objects.get_or_create(
        codename="reveal_member_phone",
        content_type=ContentType.objects.get_for_model(Member),
        defaults={"name": "Can reveal a member's phone number"},
    )
    user.user_permissions.add(perm)


def list_url(**params) -> str:
    from urllib.parse import urlencode

    return reverse("members:member_list") + (f"?{urlencode(params)}" if params else "")


def detail_url(member) -> str:
    return reverse("members:member_detail", kwargs={"member_id": member.pk})


def reveal_url(member) -> str:
    return reverse("members:member_reveal_phone", kwargs={"member_id": member.pk})


def reveals_of(member):
    return AuditEvent.objects.filter(
        action=AuditAction.REVEAL, object_type="members.member", object_id=str(member.pk)
    )


@pytest.fixture
def li_lei(brand, store):
    return MemberFactory(brand=brand, store=store, phone="13812345678", name="李雷", external_id="CRM-7")


# --- login ----------------------------------------------------------------------------------


def test_member_pages_require_login(client, li_lei):
    for url in (list_url(), detail_url(li_lei)):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert (
        client.post(reverse("members:member_reveal_phone", kwargs={"member_id": li_lei.pk})).status_code
        == 302
    )
    assert not reveals_of(li_lei).exists()


# --- search -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "13812345678",
        "138 1234 5678",
        "138-1234-5678",
        "+86 138 1234 5678",
        "0086-13812345678",
        " 13812345678 ",
    ],
)
def test_finds_a_member_by_exact_phone_in_any_format(client, brand, store, hq_user, li_lei, typed):
    MemberFactory(brand=brand, store=store, phone="13900000000", member_no="M-OTHER")
    client.force_login(hq_user)

    html = client.get(list_url(q=typed)).content.decode()

    rows = html.split('id="member-rows"', 1)[1]
    assert li_lei.member_no in rows
    assert "M-OTHER" not in rows
    assert "13812345678" not in rows  # the rows show the masked number only
    assert "138****5678" in rows


def test_live_search_returns_only_the_rows_for_htmx(client, hq_user, li_lei):
    client.force_login(hq_user)
    response = client.get(list_url(q="138 1234 5678"), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in html and 'name="q"' not in html
    assert li_lei.member_no in html


def test_finds_a_member_by_member_number_and_by_external_id(client, brand, store, hq_user, li_lei):
    MemberFactory(brand=brand, store=store, member_no="M00000099")
    client.force_login(hq_user)

    by_number = client.get(list_url(q=li_lei.member_no)).content.decode()
    by_number_lower = client.get(list_url(q=li_lei.member_no.lower())).content.decode()
    by_external = client.get(list_url(q="CRM-7")).content.decode()

    for html in (by_number, by_number_lower, by_external):
        assert detail_url(li_lei) in html
        assert "M00000099" not in html


def test_search_is_exact_never_a_partial_match(client, hq_user, li_lei):
    client.force_login(hq_user)
    for partial in ("1381234", "5678", "CRM", li_lei.member_no[:-1]):
        html = client.get(list_url(q=partial)).content.decode()
        assert detail_url(li_lei) not in html, partial
        assert "No member matches" in html


def test_search_never_finds_another_brands_member_with_the_same_phone(client, hq_user, other_brand):
    theirs = MemberFactory(brand=other_brand, phone="13700001111", member_no="THEIRS-1", external_id="X-1")
    client.force_login(hq_user)
    for q in ("13700001111", "THEIRS-1", "X-1"):
        response = client.get(list_url(q=q), **HTMX)
        assert response.context["members"] == []
        assert detail_url(theirs) not in response.content.decode()


# --- scoping ------------------------------------------------------------------------------------


def test_another_brands_member_is_a_404(client, hq_user, other_brand):
    theirs = MemberFactory(brand=other_brand, store=StoreFactory(brand=other_brand))
    grant_reveal(hq_user)
    client.force_login(hq_user)

    assert client.get(detail_url(theirs)).status_code == 404
    assert client.post(reveal_url(theirs)).status_code == 404
    assert not reveals_of(theirs).exists()


def test_store_manager_sees_only_the_members_of_their_stores(client, brand, store, manager_user):
    mine = MemberFactory(brand=brand, store=store, phone="13800000001")
    elsewhere = MemberFactory(brand=brand, store=StoreFactory(brand=brand), phone="13800000002")
    client.force_login(manager_user)

    html = client.get(list_url()).content.decode()
    assert detail_url(mine) in html
    assert detail_url(elsewhere) not in html
    assert detail_url(elsewhere) not in client.get(list_url(q="13800000002")).content.decode()
    assert client.get(detail_url(mine)).status_code == 200
    assert client.get(detail_url(elsewhere)).status_code == 404


def test_guide_sees_only_their_own_members(client, brand, store, guide_user):
    own = MemberFactory(brand=brand, store=store, guide=guide_user)
    colleagues = MemberFactory(brand=brand, store=store, guide=UserFactory(username="other-guide"))
    client.force_login(guide_user)

    html = client.get(list_url()).content.decode()
    assert detail_url(own) in html
    assert detail_url(colleagues) not in html
    assert client.get(detail_url(own)).status_code == 200
    assert client.get(detail_url(colleagues)).status_code == 404


def test_store_filter_offers_only_the_principals_stores_and_filters_the_list(
    client, brand, store, manager_user, other_brand
):
    second = StoreFactory(brand=brand, name="Second Of Mine")
    StaffRoleFactory(user=manager_user, brand=brand, store=second, role=Role.STORE_MANAGER)
    not_mine = StoreFactory(brand=brand, name="Not Managed")
    theirs = StoreFactory(brand=other_brand, name="Other Brand Store")
    in_first = MemberFactory(brand=brand, store=store)
    in_second = MemberFactory(brand=brand, store=second)
    client.force_login(manager_user)

    html = client.get(list_url()).content.decode()
    assert "Second Of Mine" in html and store.name in html
    assert "Not Managed" not in html and "Other Brand Store" not in html

    filtered = client.get(list_url(store=second.pk)).content.decode()
    assert detail_url(in_second) in filtered and detail_url(in_first) not in filtered

    for foreign in (not_mine, theirs):  # an unknown choice is an error, never a peek
        refused = client.get(list_url(store=foreign.pk))
        assert refused.status_code == 200
        assert "form-errors" in refused.content.decode()


# --- keyset paging --------------------------------------------------------------------------------


def test_list_is_newest_first_and_pages_by_keyset(client, brand, store, hq_user, monkeypatch):
    monkeypatch.setattr("members.views.PER_PAGE", 5)
    members = [MemberFactory(brand=brand, store=store) for _ in range(12)]
    newest_first = sorted(members, key=lambda m: m.pk, reverse=True)
    client.force_login(hq_user)

    seen = []
    url = list_url()
    for _ in range(3):
        response = client.get(url)
        page = response.context["members"]
        seen.extend(page)
        after = response.context["next_after"]
        if after is None:
            break
        assert f"after={after}" in response.content.decode()
        url = list_url(after=after)

    assert seen == newest_first
    assert response.context["next_after"] is None
    assert 'rel="next"' not in response.content.decode()


def test_keyset_paging_keeps_the_store_filter(client, brand, store, hq_user, monkeypatch):
    monkeypatch.setattr("members.views.PER_PAGE", 2)
    other = StoreFactory(brand=brand)
    mine = [MemberFactory(brand=brand, store=store) for _ in range(3)]
    MemberFactory.create_batch(3, brand=brand, store=other)
    client.force_login(hq_user)

    first = client.get(list_url(store=store.pk))
    assert f"store={store.pk}&amp;after=" in first.content.decode()
    second = client.get(list_url(store=store.pk, after=first.context["next_after"]))

    assert [m.pk for m in first.context["members"] + second.context["members"]] == sorted(
        (m.pk for m in mine), reverse=True
    )


@pytest.mark.parametrize("rows", [3, 30])
def test_member_list_pages_run_a_fixed_number_of_queries(
    client, brand, store, hq_user, rows, django_assert_num_queries, monkeypatch
):
    monkeypatch.setattr("members.views.PER_PAGE", 10)
    guide = StaffRoleFactory(brand=brand, store=store, role=Role.GUIDE).user
    stores = [store, *StoreFactory.create_batch(2, brand=brand)]
    members = [MemberFactory(brand=brand, store=stores[i % 3], guide=guide) for i in range(rows)]
    client.force_login(hq_user)
    client.get(list_url())  # the user's roles: read once, then cached
    # session + user = 2; + store choices + one page
    with django_assert_num_queries(4):
        assert client.get(list_url()).status_code == 200
    with django_assert_num_queries(4):
        assert client.get(list_url(after=members[-1].pk)).status_code == 200
    # the store filter validates its choice: one more
    with django_assert_num_queries(5):
        assert client.get(list_url(store=store.pk, after=members[-1].pk)).status_code == 200
    # the live search answers with the rows only: no nav, no store choices
    with django_assert_num_queries(3):
        assert client.get(list_url(q=members[0].member_no), **HTMX).status_code == 200


def test_junk_after_is_a_form_error_not_a_500(client, hq_user, li_lei):
    client.force_login(hq_user)
    response = client.get(list_url(after="junk"))
    assert response.status_code == 200
    assert detail_url(li_lei) in response.content.decode()


# --- the member page --------------------------------------------------------------------------------


def test_member_page_shows_masked_identity_recruitment_consent_and_orders(client, brand, store, hq_user):
    guide = StaffRoleFactory(
        user=UserFactory(username="guide-x", first_name="Xiao", last_name="Wang"),
        brand=brand,
        store=store,
        role=Role.GUIDE,
    ).user
    member = MemberFactory(
        brand=brand,
        store=store,
        guide=guide,
        phone="13812345678",
        name="韩梅梅",
        external_id="CRM-42",
        source="sample_dispenser",
        consent_call=True,
        consent_sms=False,
        consent_chat=True,
    )
    now = timezone.now()
    OrderFactory(
        brand=brand,
        store=store,
        member=member,
        total=Decimal("1299.00"),
        external_id="OLD-1",
        paid_at=now - timedelta(days=3),
    )
    OrderFactory(
        brand=brand,
        store=store,
        member=member,
        total=Decimal("88.50"),
        external_id="NEW-1",
        paid_at=now - timedelta(hours=1),
    )
    OrderFactory(brand=brand, store=store, total=Decimal("5.00"), external_id="SOMEONE-ELSE")
    client.force_login(hq_user)

    html = client.get(detail_url(member)).content.decode()

    assert member.member_no in html and "CRM-42" in html
    assert "138****5678" in html and "韩*" in html
    assert "13812345678" not in html and "韩梅梅" not in html
    assert "Sample dispenser" in html and store.name in html and "Xiao Wang" in html
    flags = html.split('id="member-consent"', 1)[1].split("</dl>", 1)[0]
    assert flags.count(">No consent<") == 1 and flags.count(">Consents<") == 2
    assert html.index("NEW-1") < html.index("OLD-1")
    assert "¥1,299.00" in html and "¥88.50" in html
    assert "SOMEONE-ELSE" not in html


def test_member_page_shows_tier_points_history_and_consent_history(client, brand, store, hq_user, li_lei):
    from members import services

    services.define_tier(brand_id=brand.pk, code="silver", name="银卡", threshold_points=100, rank=1)
    services.earn_points(member=li_lei, points=150, reason="Welcome gift")
    services.adjust_points(member=li_lei, points=-20, reason="Goodwill correction")
    services.record_consent(member=li_lei, channel="call", granted=True, source="store")
    services.record_consent(member=li_lei, channel="call", granted=False, source="admin")
    client.force_login(hq_user)

    html = client.get(detail_url(li_lei)).content.decode()

    points = html.split('id="member-points"', 1)[1].split("</section>", 1)[0]
    assert "银卡" in points and ">130<" in points and ">150<" in points
    assert points.index("Goodwill correction") < points.index("Welcome gift")  # newest first
    assert "+150" in points and "-20" in points
    card = html.split('id="member-consent"', 1)[1].split("</section>", 1)[0]
    consent = card.split("Consent history", 1)[1]  # the table, after the statement form
    assert consent.index("Withdrawn") < consent.index("Granted")
    assert "No consent statements recorded." not in consent


def test_member_page_without_tier_points_or_consent_history_says_so(client, hq_user, li_lei):
    client.force_login(hq_user)
    html = client.get(detail_url(li_lei)).content.decode()
    assert "No points yet." in html
    assert "No consent statements recorded." in html or "Granted" in html


def test_member_page_keeps_to_the_newest_20_orders_with_a_fixed_number_of_queries(
    client, brand, store, hq_user, django_assert_num_queries
):
    member = MemberFactory(brand=brand, store=store)
    client.force_login(hq_user)
    client.get(detail_url(member))  # the user's roles: read once, then cached
    OrderFactory.create_batch(2, brand=brand, store=store, member=member)
    # 2 (session, user) + member + orders + permissions (user, groups) + reveals
    # + points entries + consent history + profile + tags + the timeline's four providers
    # (orders, points, consent, space bookings)
    with django_assert_num_queries(15):
        assert client.get(detail_url(member)).status_code == 200
    OrderFactory.create_batch(25, brand=brand, store=StoreFactory(brand=brand), member=member)
    with django_assert_num_queries(15):
        response = client.get(detail_url(member))
    assert len(response.context["orders"]) == 20


def test_store_manager_sees_only_the_orders_in_their_stores_on_a_member_page(
    client, brand, store, manager_user
):
    member = MemberFactory(brand=brand, store=store)
    OrderFactory(brand=brand, store=store, member=member, external_id="HERE-1")
    OrderFactory(brand=brand, store=StoreFactory(brand=brand), member=member, external_id="THERE-1")
    client.force_login(manager_user)
    html = client.get(detail_url(member)).content.decode()
    assert "HERE-1" in html and "THERE-1" not in html


def test_member_page_in_chinese(client, hq_user, li_lei):
    client.force_login(hq_user)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": "/"})
    html = client.get(detail_url(li_lei)).content.decode()
    assert "会员" in html and "Recruitment" not in html and "Consent" not in html
    listing = client.get(list_url()).content.decode()
    assert "Find a member" not in listing and "Member number" not in listing


def test_nav_marks_the_members_section(client, hq_user, li_lei):
    client.force_login(hq_user)
    html = client.get(detail_url(li_lei)).content.decode()
    assert f'<a href="{list_url()}" aria-current="page">' in html


# --- reveal --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["hq_user", "manager_user", "guide_user"])
def test_reveal_without_the_permission_is_403_and_audits_nothing(client, request, li_lei, who):
    user = request.getfixturevalue(who)
    li_lei.guide = user if who == "guide_user" else None
    li_lei.save()
    client.force_login(user)

    page = client.get(detail_url(li_lei)).content.decode()
    response = client.post(reveal_url(li_lei), HTTP_HX_REQUEST="true")

    assert "Reveal phone" not in page
    assert response.status_code == 403
    assert "13812345678" not in response.content.decode()
    assert not reveals_of(li_lei).exists()


def test_reveal_with_the_permission_returns_the_number_and_audits_once(client, hq_user, li_lei):
    grant_reveal(hq_user)
    client.force_login(hq_user)
    assert "Reveal phone" in client.get(detail_url(li_lei)).content.decode()

    response = client.post(reveal_url(li_lei), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="member-phone")

    html = response.content.decode()
    assert response.status_code == 200
    assert "13812345678" in html
    assert "<html" not in html  # an htmx partial
    assert "no-store" in response["Cache-Control"]
    event = reveals_of(li_lei).get()
    assert event.actor_id == hq_user.pk and event.brand_id == li_lei.brand_id
    # the partial refreshes HQ's list of reveals out of band
    assert 'id="member-reveals" hx-swap-oob="true"' in html and "hq-a" in html

    page = client.get(detail_url(li_lei)).content.decode()
    assert 'id="member-reveals"' in page
    reveals_section = page.split('id="member-reveals"', 1)[1]
    assert "hq-a" in reveals_section
    assert "13812345678" not in page  # the page itself stays masked


def test_reveal_without_htmx_renders_the_page_with_the_number(client, hq_user, li_lei):
    grant_reveal(hq_user)
    client.force_login(hq_user)
    response = client.post(reveal_url(li_lei))
    html = response.content.decode()
    assert response.status_code == 200 and "<html" in html and "13812345678" in html
    assert "no-store" in response["Cache-Control"]
    assert html.count('id="member-reveals"') == 1
    assert reveals_of(li_lei).count() == 1


def test_reveal_is_a_post(client, hq_user, li_lei):
    grant_reveal(hq_user)
    client.force_login(hq_user)
    assert client.get(reveal_url(li_lei)).status_code == 405
    assert not reveals_of(li_lei).exists()


def test_a_store_manager_with_the_permission_reveals_but_sees_no_audit_list(
    client, brand, store, manager_user, li_lei
):
    grant_reveal(manager_user)
    elsewhere = MemberFactory(brand=brand, store=StoreFactory(brand=brand))
    client.force_login(manager_user)

    response = client.post(reveal_url(li_lei), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    assert "member-reveals" not in response.content.decode()
    assert "member-reveals" not in client.get(detail_url(li_lei)).content.decode()
    assert reveals_of(li_lei).get().actor_id == manager_user.pk

    assert client.post(reveal_url(elsewhere)).status_code == 404  # another store's member
    assert not reveals_of(elsewhere).exists()


def test_a_superuser_may_reveal(client, li_lei):
    root = UserFactory(username="root", is_superuser=True, is_staff=True)
    client.force_login(root)
    response = client.post(reveal_url(li_lei), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "13812345678" in response.content.decode()
    assert reveals_of(li_lei).count() == 1


def test_hq_sees_reveals_by_others_on_the_member_page(client, brand, store, hq_user, manager_user, li_lei):
    grant_reveal(manager_user)
    client.force_login(manager_user)
    client.post(reveal_url(li_lei), HTTP_HX_REQUEST="true")
    client.force_login(hq_user)

    page = client.get(detail_url(li_lei)).content.decode()

    reveals_section = page.split('id="member-reveals"', 1)[1]
    assert "manager-a" in reveals_section
    assert "Nobody has revealed" not in reveals_section
