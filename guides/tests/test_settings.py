"""The workbench settings page: HQ only, validated, audited, and read at send time."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from guides.models import GuideSettings
from guides.services import settings as services
from guides.services.common import NotAllowed
from guides.tests.factories import guide_in
from guides.tests.helpers_b import principal_of
from retail.models import AuditEvent

FORM = {
    "attribution_days": 14,
    "quiet_start": "22:00",
    "quiet_end": "08:30",
    "frequency_cap": 4,
    "frequency_window_days": 10,
    "telephony_provider": "http",
    "messaging_provider": "simulated",
    "caller_name": "天地旗舰店",
}


def test_hq_changes_the_settings_and_the_change_is_audited(client, brand, hq_user):
    client.force_login(hq_user)
    assert client.get(reverse("guides:settings")).status_code == 200
    response = client.post(reverse("guides:settings"), FORM)
    assert response.status_code == 302
    row = GuideSettings.objects.get(brand=brand)
    assert (row.attribution_days, row.frequency_cap, row.frequency_window_days) == (14, 4, 10)
    assert row.quiet_start == dt.time(22, 0) and row.quiet_end == dt.time(8, 30)
    assert row.telephony_provider == "http" and row.caller_name == "天地旗舰店"
    event = AuditEvent.objects.get(object_type="guides.guidesettings")
    assert event.actor_id == hq_user.pk
    assert event.before["frequency_cap"] == 3 and event.after["frequency_cap"] == 4


def test_a_bad_value_changes_nothing(client, brand, hq_user):
    client.force_login(hq_user)
    response = client.post(
        reverse("guides:settings"), {**FORM, "attribution_days": 0, "telephony_provider": "fax"}
    )
    assert response.status_code == 400
    assert GuideSettings.objects.get(brand=brand).attribution_days == 7
    assert not AuditEvent.objects.filter(object_type="guides.guidesettings").exists()


@pytest.mark.parametrize("who", ["manager_user", "guide"])
def test_only_hq_sees_the_settings(client, request, store, who):
    user = guide_in(store) if who == "guide" else request.getfixturevalue(who)
    client.force_login(user)
    assert client.get(reverse("guides:settings")).status_code == 404
    assert client.post(reverse("guides:settings"), FORM).status_code == 404
    with pytest.raises(NotAllowed):
        services.update_settings(principal_of(user), frequency_cap=9)
    assert not GuideSettings.objects.filter(frequency_cap=9).exists()


def test_the_service_refuses_an_unknown_provider(brand, hq_user):
    from retail.errors import DomainError

    with pytest.raises(DomainError):
        services.update_settings(principal_of(hq_user), messaging_provider="pigeon")
    assert not GuideSettings.objects.filter(brand=brand, messaging_provider="pigeon").exists()
