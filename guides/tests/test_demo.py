"""The workbench in the demo seed: guides get profiles, tasks and a month of interactions;
wiping the brand removes every workbench row."""

import io

import pytest
from django.core.management import call_command

from guides import models as m
from retail.models import Brand

pytestmark = pytest.mark.django_db(transaction=True)


def test_seed_gives_guides_a_workbench_and_wipe_removes_it():
    call_command("seed_demo", members=60, orders=100, stdout=io.StringIO())
    brand = Brand.objects.order_by("pk").first()
    profiles = m.GuideProfile.objects.filter(brand=brand)
    assert profiles.exists()
    assert all(p.phone_encrypted for p in profiles)  # the call bridge has a phone to ring
    assert m.Task.objects.filter(brand=brand).exists()
    assert m.Interaction.objects.filter(brand=brand, kind="call", answered=True).exists()
    assert m.AssignmentChange.objects.filter(brand=brand, reason="recruited").exists()
    assert m.Livestream.objects.filter(brand=brand).exists()

    old_ids = list(Brand.objects.values_list("pk", flat=True))
    call_command("seed_demo", members=60, orders=100, reset=True, stdout=io.StringIO())
    assert not Brand.objects.filter(pk__in=old_ids).exists()
    for model in (m.GuideProfile, m.Task, m.Interaction, m.AssignmentChange, m.Livestream, m.ShareLink):
        assert not model.objects.filter(brand_id__in=old_ids).exists(), model.__name__
