"""Member-exclusive benefits: draft-only changes with clear field errors, the segment freeze
on publish (copied in chunks, audited, deaf to later segment changes, refused for a segment
not materialised), who has which benefit when, and the HQ pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from members.choices import JobStatus
from members.models import Segment, SegmentMember
from members.services import define_tier
from members.tests.factories import MemberFactory
from promotions.choices import BenefitKind, CampaignStatus
from promotions.models import Benefit, BenefitMember
from promotions.selectors.benefits import benefits_for_member
from promotions.services import benefits as services
from promotions.tests.factories import BenefitFactory, CampaignFactory, phases
from retail.choices import AuditAction
from retail.errors import Conflict, InvalidInput
from retail.models import AuditEvent

pytestmark = pytest.mark.django_db


def segment_of(brand, members, *, status=JobStatus.DONE, name="VIP list"):
    """A segment as materialisation leaves it: its members listed, status and size set."""
    segment = Segment.objects.create(brand=brand, name=name, rules={}, status=status, size=len(members))
    SegmentMember.objects.bulk_create(SegmentMember(brand=brand, segment=segment, member=m) for m in members)
    return segment


def publish(campaign) -> int:
    """What the campaign helper's publish does for benefits: freeze inside its transaction."""
    with transaction.atomic():
        campaign.status = CampaignStatus.PUBLISHED
        campaign.published_at = timezone.now()
        campaign.save(update_fields=["status", "published_at"])
        return services.freeze_for_campaign(campaign=campaign)


@pytest.fixture
def gold(brand):
    return define_tier(brand_id=brand.pk, code="gold", name="Gold", threshold_points=1000, rank=2)


# --- writes ----------------------------------------------------------------------------------


def test_a_benefit_needs_tiers_or_a_segment(brand):
    campaign = CampaignFactory(brand=brand)
    with pytest.raises(InvalidInput) as caught:
        services.create_benefit(campaign=campaign, kind=BenefitKind.GIFT, name="Silk pouch")
    assert "tiers" in caught.value.fields
    assert not Benefit.objects.exists()


def test_a_segment_not_materialised_is_refused(brand):
    campaign = CampaignFactory(brand=brand)
    pending = segment_of(brand, [], status=JobStatus.RUNNING)
    with pytest.raises(InvalidInput) as caught:
        services.create_benefit(campaign=campaign, kind=BenefitKind.GIFT, name="Pouch", segment=pending)
    assert "segment" in caught.value.fields and "not materialised" in caught.value.fields["segment"][0]


def test_tiers_and_segments_of_another_brand_are_refused(brand, other_brand):
    campaign = CampaignFactory(brand=brand)
    tier_b = define_tier(brand_id=other_brand.pk, code="gold", name="Gold", threshold_points=10, rank=1)
    segment_b = segment_of(other_brand, [])
    with pytest.raises(InvalidInput) as caught:
        services.create_benefit(
            campaign=campaign, kind=BenefitKind.GIFT, name="Pouch", tiers=[tier_b], segment=segment_b
        )
    assert {"tiers", "segment"} <= set(caught.value.fields)
    with pytest.raises(InvalidInput) as caught:
        services.create_benefit(campaign=campaign, kind="cash", name="", tiers=[tier_b])
    assert {"kind", "name"} <= set(caught.value.fields)


def test_benefits_change_only_while_the_campaign_is_a_draft(brand, gold):
    campaign = CampaignFactory(brand=brand)
    benefit = services.create_benefit(
        campaign=campaign, kind=BenefitKind.EARLY_ACCESS, name="Early hour", tiers=[gold]
    )
    services.update_benefit(benefit=benefit, kind=BenefitKind.GIFT, name="Gift", tiers=[gold])
    assert AuditEvent.objects.filter(object_id=str(benefit.pk), object_type="promotions.benefit").count() == 2
    publish(campaign)
    with pytest.raises(Conflict):
        services.update_benefit(benefit=benefit, kind=BenefitKind.OTHER, name="Other", tiers=[gold])
    with pytest.raises(Conflict):
        services.delete_benefit(benefit=benefit)
    with pytest.raises(Conflict):
        services.create_benefit(campaign=campaign, kind=BenefitKind.GIFT, name="Late", tiers=[gold])
    benefit.refresh_from_db()
    assert (benefit.name, Benefit.objects.count()) == ("Gift", 1)


def test_deleting_a_benefit_is_audited_and_a_repeat_is_harmless(brand, gold):
    benefit = services.create_benefit(
        campaign=CampaignFactory(brand=brand), kind=BenefitKind.GIFT, name="Pouch", tiers=[gold]
    )
    services.delete_benefit(benefit=benefit)
    services.delete_benefit(benefit=benefit)
    assert not Benefit.objects.exists()
    assert AuditEvent.objects.filter(object_id=str(benefit.pk), action=AuditAction.DELETE).count() == 1


# --- the freeze ------------------------------------------------------------------------------


def test_publishing_freezes_the_segment_in_chunks_and_audits_it(brand, monkeypatch):
    monkeypatch.setattr(services, "FREEZE_CHUNK", 2)
    members = MemberFactory.create_batch(5, brand=brand)
    segment = segment_of(brand, members)
    campaign = CampaignFactory(brand=brand, name="Double-11 2026")
    benefit = services.create_benefit(
        campaign=campaign, kind=BenefitKind.FITTING_ROOM, name="Fitting room", segment=segment
    )
    assert publish(campaign) == 5
    benefit.refresh_from_db()
    assert benefit.frozen_at is not None and benefit.frozen_size == 5
    assert set(BenefitMember.objects.filter(benefit=benefit).values_list("member_id", flat=True)) == {
        m.pk for m in members
    }
    event = AuditEvent.objects.get(object_id=str(benefit.pk), action=AuditAction.UPDATE)
    assert event.message.startswith("segment frozen for campaign Double-11 2026")
    assert event.after["frozen_size"] == 5
    # a second publish (a retried task) copies nothing again
    assert services.freeze_for_campaign(campaign=campaign) == 0
    assert BenefitMember.objects.filter(benefit=benefit).count() == 5


def test_later_segment_changes_do_not_change_the_frozen_list(brand):
    stays, leaves = MemberFactory.create_batch(2, brand=brand)
    newcomer = MemberFactory(brand=brand)
    segment = segment_of(brand, [stays, leaves])
    campaign = CampaignFactory(brand=brand)
    phases(campaign, timezone.now() - dt.timedelta(hours=1))
    benefit = services.create_benefit(campaign=campaign, kind=BenefitKind.GIFT, name="Pouch", segment=segment)
    publish(campaign)
    # the segment is re-materialised later: one member left it, another joined
    SegmentMember.objects.filter(segment=segment, member=leaves).delete()
    SegmentMember.objects.create(brand=brand, segment=segment, member=newcomer)
    assert [b.pk for b in benefits_for_member(member=leaves)] == [benefit.pk]
    assert benefits_for_member(member=newcomer) == []
    assert BenefitMember.objects.filter(benefit=benefit).count() == 2


def test_publishing_with_a_segment_not_materialised_is_refused_and_copies_nothing(brand):
    segment = segment_of(brand, MemberFactory.create_batch(2, brand=brand))
    campaign = CampaignFactory(brand=brand)
    services.create_benefit(campaign=campaign, kind=BenefitKind.GIFT, name="Pouch", segment=segment)
    Segment.objects.filter(pk=segment.pk).update(status=JobStatus.RUNNING)
    with pytest.raises(Conflict) as caught:
        publish(campaign)
    assert caught.value.code == "segment_not_materialised" and "VIP list" in caught.value.message
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert not BenefitMember.objects.exists()
    assert not AuditEvent.objects.filter(message__startswith="segment frozen").exists()


# --- who has which benefit -------------------------------------------------------------------


def test_benefits_for_member_by_tier_and_by_frozen_segment(brand, other_brand, gold):
    now = timezone.now()
    in_segment = MemberFactory(brand=brand)
    outsider = MemberFactory(brand=brand)
    gold_member = MemberFactory(brand=brand)
    type(gold_member).objects.filter(pk=gold_member.pk).update(tier=gold)
    gold_member.refresh_from_db()
    campaign = CampaignFactory(brand=brand)
    phases(campaign, now - dt.timedelta(hours=2), hours=1)  # four one-hour phases: live now
    for_gold = services.create_benefit(
        campaign=campaign, kind=BenefitKind.GIFT, name="Gold gift", tiers=[gold]
    )
    for_segment = services.create_benefit(
        campaign=campaign,
        kind=BenefitKind.EARLY_ACCESS,
        name="Early",
        segment=segment_of(brand, [in_segment]),
    )
    # before publishing nobody has anything
    assert benefits_for_member(member=gold_member) == []
    publish(campaign)
    assert [b.pk for b in benefits_for_member(member=gold_member)] == [for_gold.pk]
    assert [b.pk for b in benefits_for_member(member=in_segment)] == [for_segment.pk]
    assert benefits_for_member(member=outsider) == []
    # not outside the campaign's time
    assert benefits_for_member(member=gold_member, at=now - dt.timedelta(hours=3)) == []
    assert benefits_for_member(member=gold_member, at=now + dt.timedelta(hours=3)) == []
    assert [b.pk for b in benefits_for_member(member=gold_member, at=now + dt.timedelta(hours=1))] == [
        for_gold.pk
    ]
    # not for another brand's member
    stranger = MemberFactory(brand=other_brand)
    assert benefits_for_member(member=stranger) == []


# --- pages -----------------------------------------------------------------------------------


def test_hq_adds_edits_and_deletes_benefits_of_a_draft_campaign(client, brand, hq_user, gold):
    campaign = CampaignFactory(brand=brand)
    segment = segment_of(brand, MemberFactory.create_batch(3, brand=brand))
    client.force_login(hq_user)
    listed = client.get(reverse("promotions:benefit_list", kwargs={"campaign_id": campaign.pk}))
    assert listed.status_code == 200 and "Add a benefit" in listed.content.decode()
    new = reverse("promotions:benefit_new", kwargs={"campaign_id": campaign.pk})
    assert client.get(new).status_code == 200
    response = client.post(
        new, {"kind": "gift", "name": "Silk pouch", "tiers": [gold.pk], "segment": segment.pk}
    )
    assert response.status_code == 302
    benefit = Benefit.objects.get(campaign=campaign)
    assert benefit.segment_id == segment.pk and list(benefit.tiers.all()) == [gold]
    bad = client.post(new, {"kind": "gift", "name": "Nobody's"})
    assert bad.status_code == 400 and "Choose tiers, a segment, or both." in bad.content.decode()
    edit = reverse("promotions:benefit_edit", kwargs={"benefit_id": benefit.pk})
    assert client.post(edit, {"kind": "other", "name": "Tea", "tiers": [gold.pk]}).status_code == 302
    benefit.refresh_from_db()
    assert (benefit.name, benefit.segment_id) == ("Tea", None)
    delete = reverse("promotions:benefit_delete", kwargs={"benefit_id": benefit.pk})
    assert client.get(delete).status_code == 200
    assert client.post(delete).status_code == 302
    assert not Benefit.objects.exists()


def test_after_publish_the_page_is_read_only_and_shows_the_freeze(client, brand, hq_user):
    campaign = CampaignFactory(brand=brand)
    segment = segment_of(brand, MemberFactory.create_batch(3, brand=brand))
    benefit = services.create_benefit(campaign=campaign, kind=BenefitKind.GIFT, name="Pouch", segment=segment)
    publish(campaign)
    client.force_login(hq_user)
    body = client.get(
        reverse("promotions:benefit_list", kwargs={"campaign_id": campaign.pk})
    ).content.decode()
    assert "frozen at" in body and "3 members" in body and "Add a benefit" not in body
    edit = reverse("promotions:benefit_edit", kwargs={"benefit_id": benefit.pk})
    response = client.post(edit, {"kind": "other", "name": "Changed", "segment": segment.pk})
    assert response.status_code == 400 and "can no longer change" in response.content.decode()
    response = client.post(reverse("promotions:benefit_delete", kwargs={"benefit_id": benefit.pk}))
    assert response.status_code == 409
    benefit.refresh_from_db()
    assert benefit.name == "Pouch"


def test_store_staff_may_not_open_benefit_pages(client, brand, manager_user, guide_user):
    benefit = BenefitFactory(brand=brand)
    for user in (manager_user, guide_user):
        client.force_login(user)
        assert (
            client.get(
                reverse("promotions:benefit_list", kwargs={"campaign_id": benefit.campaign_id})
            ).status_code
            == 403
        )
        assert (
            client.post(reverse("promotions:benefit_delete", kwargs={"benefit_id": benefit.pk})).status_code
            == 403
        )
    assert Benefit.objects.filter(pk=benefit.pk).exists()


def test_another_brands_benefits_are_a_404(client, brand, other_brand, hq_user):
    benefit = BenefitFactory(brand=other_brand)
    client.force_login(hq_user)
    assert (
        client.get(
            reverse("promotions:benefit_list", kwargs={"campaign_id": benefit.campaign_id})
        ).status_code
        == 404
    )
    assert (
        client.get(reverse("promotions:benefit_new", kwargs={"campaign_id": benefit.campaign_id})).status_code
        == 404
    )
    for name in ("benefit_edit", "benefit_delete"):
        assert (
            client.post(reverse(f"promotions:{name}", kwargs={"benefit_id": benefit.pk})).status_code == 404
        )
    assert Benefit.objects.filter(pk=benefit.pk).exists()


def test_the_campaigns_publish_freezes_the_segment_or_is_refused(brand, store):
    # the real publish (promotions.services.campaigns) calls the freeze in its transaction
    from promotions.services.campaigns import publish_campaign

    members = MemberFactory.create_batch(3, brand=brand)
    segment = segment_of(brand, members)
    campaign = CampaignFactory(brand=brand, stores=[store])
    phases(campaign, timezone.now() + dt.timedelta(hours=1))
    benefit = services.create_benefit(campaign=campaign, kind=BenefitKind.GIFT, name="Pouch", segment=segment)
    Segment.objects.filter(pk=segment.pk).update(status=JobStatus.PENDING)
    with pytest.raises(Conflict):
        publish_campaign(campaign=campaign)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT and not BenefitMember.objects.exists()
    Segment.objects.filter(pk=segment.pk).update(status=JobStatus.DONE)
    publish_campaign(campaign=campaign)
    benefit.refresh_from_db()
    assert benefit.frozen_size == 3 and BenefitMember.objects.filter(benefit=benefit).count() == 3
    assert AuditEvent.objects.filter(
        object_type="promotions.benefit", object_id=str(benefit.pk), message__startswith="segment frozen"
    ).exists()


def test_the_pages_render_in_chinese(client, brand, hq_user):
    campaign = CampaignFactory(brand=brand)
    segment = segment_of(brand, MemberFactory.create_batch(2, brand=brand))
    services.create_benefit(campaign=campaign, kind=BenefitKind.GIFT, name="Pouch", segment=segment)
    publish(campaign)
    client.force_login(hq_user)
    for url in (
        reverse("promotions:benefit_list", kwargs={"campaign_id": campaign.pk}),
        reverse("promotions:template_list"),
        reverse("promotions:template_new"),
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
        assert response.status_code == 200 and '<html lang="zh-hans"' in response.content.decode()
