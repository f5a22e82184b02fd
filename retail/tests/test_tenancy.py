import pytest

from members.tests.factories import MemberFactory
from retail.choices import Role
from retail.models import Order, Product, Store
from retail.selectors import principal_for_user
from retail.tenancy import ANONYMOUS, groups_for, scope
from retail.tests.factories import OrderFactory, ProductFactory, StaffRoleFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_hq_admin_sees_every_store_of_their_brand_and_none_of_another(brand, other_brand, hq_user):
    mine = StoreFactory.create_batch(2, brand=brand)
    StoreFactory(brand=other_brand)
    principal = principal_for_user(user=hq_user)
    assert set(scope(Store.objects.all(), principal)) == set(mine)


def test_store_manager_sees_only_the_stores_they_manage(brand, store):
    second = StoreFactory(brand=brand)
    third = StoreFactory(brand=brand)
    user = UserFactory(username="multi-manager")
    StaffRoleFactory(user=user, brand=brand, store=store, role=Role.STORE_MANAGER)
    StaffRoleFactory(user=user, brand=brand, store=second, role=Role.STORE_MANAGER)
    principal = principal_for_user(user=user)
    assert set(Store.objects.for_principal(principal)) == {store, second}
    OrderFactory(brand=brand, store=third)
    assert not Order.objects.for_principal(principal).exists()
    # products are brand-wide: a manager sees the whole catalog
    ProductFactory(brand=brand)
    assert Product.objects.for_principal(principal).count() == Product.objects.filter(brand=brand).count()


def test_guide_sees_only_their_own_members(brand, store, guide_user):
    own = MemberFactory(brand=brand, store=store, guide=guide_user)
    MemberFactory(brand=brand, store=store, guide=None)
    principal = principal_for_user(user=guide_user)
    from members.models import Member

    assert list(Member.objects.for_principal(principal)) == [own]


def test_anonymous_and_roleless_users_see_nothing(brand, store):
    assert not Store.objects.for_principal(ANONYMOUS).exists()
    nobody = principal_for_user(user=UserFactory(username="nobody"))
    assert not Store.objects.for_principal(nobody).exists()


def test_superuser_without_role_sees_every_brand(brand, other_brand):
    StoreFactory(brand=brand)
    StoreFactory(brand=other_brand)
    admin = UserFactory(username="root", is_superuser=True, is_staff=True)
    assert Store.objects.for_principal(principal_for_user(user=admin)).count() == 2


def test_active_role_chooses_the_brand_acted_for(brand, other_brand):
    user = UserFactory(username="consultant")
    a = StaffRoleFactory(user=user, brand=brand, role=Role.HQ_ADMIN)
    b = StaffRoleFactory(user=user, brand=other_brand, role=Role.HQ_ADMIN)
    StoreFactory(brand=brand)
    theirs = StoreFactory(brand=other_brand)
    assert principal_for_user(user=user, role_id=a.pk).brand_id == brand.pk
    principal_b = principal_for_user(user=user, role_id=b.pk)
    assert list(Store.objects.for_principal(principal_b)) == [theirs]


def test_websocket_groups_follow_the_principal(brand, store, hq_user, manager_user):
    assert groups_for(principal_for_user(user=hq_user)) == [f"brand.{brand.pk}"]
    assert groups_for(principal_for_user(user=manager_user)) == [f"store.{store.pk}"]
    assert groups_for(ANONYMOUS) == []


def test_scope_refuses_models_that_are_not_tenant_owned():
    from django.contrib.auth import get_user_model

    with pytest.raises(TypeError):
        scope(get_user_model().objects.all(), ANONYMOUS)
