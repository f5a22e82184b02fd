"""Points lapse POINTS_EXPIRE_AFTER_DAYS after they were credited, oldest used first (FIFO)."""

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from members import services
from members.choices import PointsKind
from members.models import PointsEntry
from members.tests.factories import MemberFactory
from retail.schedules import PERIODIC_TASKS

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _two_years(settings):
    settings.POINTS_EXPIRE_AFTER_DAYS = 730


def backdate(entry: PointsEntry, days: int) -> None:
    PointsEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(days=days))


def balance_is_sum(member) -> bool:
    member.refresh_from_db()
    return member.points_balance == PointsEntry.objects.filter(member=member).aggregate(s=Sum("points"))["s"]


def test_old_unused_points_lapse_and_recent_ones_stay(brand):
    # given 300 points earned three years ago and 200 earned last month
    member = MemberFactory(brand=brand)
    backdate(services.earn_points(member=member, points=300), days=3 * 365)
    backdate(services.earn_points(member=member, points=200), days=30)
    # when the monthly expiry runs
    assert services.expire_lapsed_points(brand_id=brand.pk) == 1
    # then the 300 old points lapse in one expire entry, the 200 stay
    member.refresh_from_db()
    assert member.points_balance == 200
    lapse = PointsEntry.objects.get(member=member, kind=PointsKind.EXPIRE)
    assert lapse.points == -300 and "earned before" in lapse.reason
    assert balance_is_sum(member)


def test_spending_uses_the_oldest_points_first(brand):
    # given 300 old points of which 250 were spent since, and 100 new points
    member = MemberFactory(brand=brand)
    backdate(services.earn_points(member=member, points=300), days=800)
    services.spend_points(member=member, points=250, reason="gift")
    services.earn_points(member=member, points=100)
    # when the expiry runs, only the 50 old points left over lapse
    services.expire_lapsed_points(brand_id=brand.pk)
    member.refresh_from_db()
    assert member.points_balance == 100
    assert PointsEntry.objects.get(member=member, kind=PointsKind.EXPIRE).points == -50


def test_a_rerun_expires_nothing_more(brand):
    member = MemberFactory(brand=brand)
    backdate(services.earn_points(member=member, points=120), days=1000)
    assert services.expire_lapsed_points(brand_id=brand.pk) == 1
    assert services.expire_lapsed_points(brand_id=brand.pk) == 0
    assert PointsEntry.objects.filter(member=member, kind=PointsKind.EXPIRE).count() == 1
    assert balance_is_sum(member)


def test_expiry_keeps_to_its_brand(brand, other_brand):
    ours, theirs = MemberFactory(brand=brand), MemberFactory(brand=other_brand)
    for member in (ours, theirs):
        backdate(services.earn_points(member=member, points=80), days=900)
    services.expire_lapsed_points(brand_id=brand.pk)
    theirs.refresh_from_db()
    assert theirs.points_balance == 80
    assert not PointsEntry.objects.filter(member=theirs, kind=PointsKind.EXPIRE).exists()


def test_the_expiry_is_scheduled_monthly():
    task, crontab, _why = PERIODIC_TASKS["expire-lapsed-points"]
    assert task == "members.tasks.expire_lapsed_points_task"
    assert crontab["day_of_month"] == "1"


def test_the_monthly_task_expires_every_brand(brand, other_brand):
    from members.tasks import expire_lapsed_points_task

    members = [MemberFactory(brand=brand), MemberFactory(brand=other_brand)]
    for member in members:
        backdate(services.earn_points(member=member, points=10), days=800)
    expire_lapsed_points_task.delay()
    for member in members:
        member.refresh_from_db()
        assert member.points_balance == 0
