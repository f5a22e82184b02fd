"""Form of the data-backflow pages: HQ's policy (weights, reward / penalty lines, retention)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .services.backflow import MIN_RETENTION_DAYS


class BackflowPolicyForm(forms.Form):
    weight_timeliness = forms.IntegerField(label=_("Weight of timeliness (%)"), min_value=0, max_value=100)
    weight_completeness = forms.IntegerField(
        label=_("Weight of completeness (%)"), min_value=0, max_value=100
    )
    weight_accuracy = forms.IntegerField(label=_("Weight of accuracy (%)"), min_value=0, max_value=100)
    reward_at = forms.FloatField(label=_("Reward at monthly score ≥"), min_value=0, max_value=100)
    penalty_below = forms.FloatField(
        label=_("Penalty notice below monthly score"), min_value=0, max_value=100
    )
    raw_event_retention_days = forms.IntegerField(
        label=_("Keep raw events (days)"), min_value=MIN_RETENTION_DAYS, max_value=3650
    )

    FIELDS = (
        "weight_timeliness",
        "weight_completeness",
        "weight_accuracy",
        "reward_at",
        "penalty_below",
        "raw_event_retention_days",
    )

    @classmethod
    def for_policy(cls, policy, data=None):
        return cls(data, initial={name: getattr(policy, name) for name in cls.FIELDS})

    def clean(self):
        data = super().clean()
        weights = [data.get(n) for n in ("weight_timeliness", "weight_completeness", "weight_accuracy")]
        if None not in weights and sum(weights) != 100:
            raise forms.ValidationError(_("The three weights must add up to 100."))
        reward, penalty = data.get("reward_at"), data.get("penalty_below")
        if reward is not None and penalty is not None and penalty > reward:
            raise forms.ValidationError(_("The penalty line cannot be above the reward line."))
        return data
