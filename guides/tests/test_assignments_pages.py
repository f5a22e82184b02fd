"""The reassignment page and a batch's page."""

from django.urls import reverse

from guides.models import ReassignmentBatch
from guides.tests.factories import ReassignmentBatchFactory, guide_in
from members.models import Member
from members.tests.factories import MemberFactory
from retail.tests.factories import StoreFactory


def test_a_manager_moves_a_guides_members_from_the_page(client, store, manager_user):
    leaving, staying = guide_in(store, username="leaving"), guide_in(store, username="staying")
    members = [MemberFactory(brand=store.brand, store=store, guide=leaving) for _ in range(3)]
    client.force_login(manager_user)
    page = client.get(reverse("guides:assignment_list"))
    assert page.status_code == 200 and "staying" in page.content.decode()
    response = client.post(
        reverse("guides:assignment_list"),
        {
            "store": store.pk,
            "from_guide": leaving.pk,
            "to_guides": [staying.pk],
            "reason": "guide_left",
            "note": "",
        },
    )
    batch = ReassignmentBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "guides:batch_detail", args=[batch.pk]
    )
    assert Member.objects.filter(guide=staying).count() == 3
    detail = client.get(response["Location"]).content.decode()
    for member in members:
        assert member.member_no in detail


def test_listed_member_numbers_must_be_the_stores(client, store, manager_user):
    target = guide_in(store)
    other = StoreFactory(brand=store.brand)
    theirs = MemberFactory(brand=store.brand, store=other)
    client.force_login(manager_user)
    response = client.post(
        reverse("guides:assignment_list"),
        {
            "store": store.pk,
            "member_numbers": theirs.member_no,
            "to_guides": [target.pk],
            "reason": "rebalance",
        },
    )
    assert response.status_code == 400 and theirs.member_no in response.content.decode()
    assert not ReassignmentBatch.objects.exists()


def test_a_guide_may_not_open_the_reassignment_page(client, store):
    client.force_login(guide_in(store))
    assert client.get(reverse("guides:assignment_list")).status_code == 403


def test_another_stores_batch_is_a_404_for_a_manager(client, store, manager_user):
    theirs = ReassignmentBatchFactory(brand=store.brand, store=StoreFactory(brand=store.brand))
    mine = ReassignmentBatchFactory(brand=store.brand, store=store)
    client.force_login(manager_user)
    assert client.get(reverse("guides:batch_detail", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("guides:batch_detail", args=[mine.pk])).status_code == 200


def test_the_form_offers_the_chosen_stores_guides(client, store, manager_user):
    from retail.choices import Role
    from retail.tests.factories import StaffRoleFactory

    here = guide_in(store, username="here")
    second = StoreFactory(brand=store.brand)
    StaffRoleFactory(user=manager_user, brand=store.brand, store=second, role=Role.STORE_MANAGER)
    there = guide_in(second, username="there")
    client.force_login(manager_user)
    url = reverse("guides:assignment_guides")
    # the members come from the chosen store's guides; the targets are its guides first,
    # then the other stores' (a closing store hands its members to guides elsewhere)
    first = client.get(url, {"store": store.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert first.count(f'value="{here.pk}"') == 2 and first.count(f'value="{there.pk}"') == 1
    assert first.index(f'value="{here.pk}"') < first.index(f'value="{there.pk}"')
    other = client.get(url, {"store": second.pk}, HTTP_HX_REQUEST="true").content.decode()
    assert other.count(f'value="{there.pk}"') == 2 and other.count(f'value="{here.pk}"') == 1
    assert other.index(f'value="{there.pk}"') < other.index(f'value="{here.pk}"')
    assert "field-error" not in other
    foreign = StoreFactory()
    assert f'value="{here.pk}"' in client.get(url, {"store": foreign.pk}).content.decode()
