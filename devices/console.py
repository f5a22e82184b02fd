"""The devices panel of the partner console (retail.console): the partner's device
scorecards under the data-backflow standard. Registered when DevicesConfig.ready() imports this module."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from retail import console
from retail.tenancy import principal_for_api_client

from .selectors import backflow


def scorecard_panel(principal, client):
    """The partner's month score, daily trend and yesterday's device scores; the reads are
    scoped to that partner's own devices (as the partner itself would see them)."""
    as_partner = principal_for_api_client(client)
    card = backflow.partner_scorecard(principal=as_partner)
    device_days = backflow.device_scores(principal=as_partner, day=backflow.last_scored_day())
    return (
        "devices/backflow/_console_panel.html",
        {
            "card": card,
            "device_days": device_days,
            "partner": client,
            "show_store": principal.kind != "partner",
        },
    )


console.register_panel("device-scorecards", _("Device scorecards"), scorecard_panel)
