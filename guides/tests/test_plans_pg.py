"""Call-plan generation on PostgreSQL: 20,000 members become tasks in seconds, spread over
the store's guides and days; running the job again creates nothing."""

import time
from collections import Counter

from django.utils import timezone

from guides.choices import PlanStatus
from guides.models import CallPlan, Task
from guides.services import plans as services
from guides.tests.factories import CallPlanFactory, SegmentFactory, guide_in
from members.choices import JobStatus
from members.models import Member, SegmentMember
from retail.tests.concurrency import POSTGRES_ONLY

pytestmark = POSTGRES_ONLY


def test_a_20000_member_plan_is_made_in_seconds_and_once(store):
    guides = [guide_in(store) for _ in range(8)]
    now = timezone.now()
    Member.objects.bulk_create(
        [
            Member(
                brand=store.brand,
                store=store,
                guide=guides[0] if i % 10 == 0 else None,
                member_no=f"P{i:08d}",
                phone_hash=f"plan-{i}",
                phone_masked="139****0000",
                joined_at=now,
                consent_call=True,
            )
            for i in range(20_000)
        ],
        batch_size=5000,
    )
    segment = SegmentFactory(brand=store.brand, status=JobStatus.DONE)
    SegmentMember.objects.bulk_create(
        [
            SegmentMember(brand=store.brand, segment=segment, member_id=m)
            for m in Member.objects.values_list("pk", flat=True)
        ],
        batch_size=5000,
    )
    plan = CallPlanFactory(brand=store.brand, store=store, segment=segment, status=PlanStatus.GENERATING)
    started = time.monotonic()
    assert services.generate_plan_tasks(plan_id=plan.pk) == 20_000
    elapsed = time.monotonic() - started
    assert elapsed < 60, elapsed
    plan.refresh_from_db()
    assert plan.status == PlanStatus.ACTIVE and plan.tasks_total == 20_000
    per_guide = Counter(Task.objects.filter(plan=plan).values_list("guide_id", flat=True))
    assert max(per_guide.values()) - min(per_guide.values()) <= 1
    assert services.generate_plan_tasks(plan_id=plan.pk) == 20_000
    assert Task.objects.filter(plan=plan).count() == 20_000
    assert CallPlan.objects.get(pk=plan.pk).status == PlanStatus.ACTIVE
    print(f"made 20,000 tasks in {elapsed:.1f}s")
