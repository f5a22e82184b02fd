"""The per-user role cache (retail.selectors.roles_for_user): read once, then from the cache,
and never stale after a role, a user, a store or a brand changes — a revoked role stops
working on the next request."""

from __future__ import annotations

import pytest
from django.urls import reverse

from retail import selectors, services
from retail.choices import Role
from retail.models import StaffRole
from retail.tests.factories import StoreFactory

pytestmark = pytest.mark.django_db


def test_roles_are_read_once_then_served_from_the_cache(manager_user, django_assert_num_queries):
    with django_assert_num_queries(1):
        first = selectors.roles_for_user(user=manager_user)
    with django_assert_num_queries(0):
        again = selectors.roles_for_user(user=manager_user)
    assert [r.pk for r in again] == [r.pk for r in first] and again[0].store.name == first[0].store.name


def test_a_revoked_role_stops_working_on_the_next_request(client, store, manager_user):
    client.force_login(manager_user)
    assert client.get(reverse("retail:store_home")).status_code == 200  # roles now cached
    services.revoke_role(staff_role=StaffRole.objects.get(user=manager_user))
    response = client.get(reverse("retail:store_home"))
    assert response.status_code in (302, 403, 404)
    assert selectors.roles_for_user(user=manager_user) == []


def test_a_granted_role_shows_at_once(client, brand, store, guide_user):
    client.force_login(guide_user)
    client.get(reverse("retail:home"))
    other = StoreFactory(brand=brand, name="Second store")
    services.grant_role(user=guide_user, brand=brand, role=Role.STORE_MANAGER, store=other)
    roles = selectors.roles_for_user(user=guide_user)
    assert {(r.role, r.store_id) for r in roles} == {(Role.GUIDE, store.pk), (Role.STORE_MANAGER, other.pk)}


def test_a_renamed_store_or_brand_is_not_served_stale(brand, store, guide_user):
    assert selectors.roles_for_user(user=guide_user)[0].store.name == store.name
    services.update_store(store=store, name="Renamed flagship")
    assert selectors.roles_for_user(user=guide_user)[0].store.name == "Renamed flagship"
    brand.name = "Renamed brand"
    brand.save()
    assert selectors.roles_for_user(user=guide_user)[0].brand.name == "Renamed brand"


def test_a_cascade_delete_of_the_store_forgets_the_role(store, guide_user):
    assert selectors.roles_for_user(user=guide_user)
    store.delete()
    assert selectors.roles_for_user(user=guide_user) == []
