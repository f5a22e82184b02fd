"""Two reminder runs at the same moment (PostgreSQL; threads with their own connections)
remind each signup once and publish one livestream.reminded."""

import datetime as dt
from datetime import time

from django.utils import timezone

from guides.models import GuideSettings, Livestream, LivestreamSignup, Message
from guides.services import livestreams
from guides.tests.factories import LivestreamFactory, guide_in
from members.tests.factories import MemberFactory
from retail.models import DomainEvent
from retail.tests.concurrency import POSTGRES_ONLY, run_together
from retail.tests.factories import StoreFactory

pytestmark = POSTGRES_ONLY


def test_overlapping_beats_remind_each_member_once(brand):
    GuideSettings.objects.create(brand=brand, quiet_start=time(0, 0), quiet_end=time(0, 0), frequency_cap=50)
    store = StoreFactory(brand=brand)
    host = guide_in(store)
    livestream = LivestreamFactory(
        brand=brand,
        store=store,
        host=host,
        starts_at=timezone.now() + dt.timedelta(minutes=10),
        ends_at=timezone.now() + dt.timedelta(hours=1),
    )
    members = [MemberFactory(brand=brand, store=store, guide=host, consent_sms=True) for _n in range(12)]
    for m in members:
        LivestreamSignup.objects.create(livestream=livestream, member=m, channel="sms")
    results = run_together([livestreams.send_due_reminders for _n in range(4)])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sum(results) == 12
    assert Message.objects.filter(member__in=members).count() == 12
    livestream = Livestream.objects.get(pk=livestream.pk)
    assert livestream.reminders_sent + livestream.reminders_skipped == 12
    assert DomainEvent.objects.filter(name="livestream.reminded").count() == 1
