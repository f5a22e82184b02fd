"""The managers' bulk reassignment form: the store, whose members (a guide's, or listed
member numbers), the guides they go to, why. Choices come scoped through the principal."""

from __future__ import annotations

import re

from django import forms
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from members.models import Member
from retail import selectors as retail_selectors
from retail.choices import Role
from retail.forms import ListedModelChoiceField
from retail.models import StaffRole
from retail.tenancy import Principal

from ..choices import AssignmentReason
from ..models import GuideProfile

MAX_LISTED = 5000
MAX_GUIDES = 500  # a store has dozens; the cap keeps a brand-wide list bounded


def guide_choices(principal: Principal, *, store_id: int | None = None) -> list[tuple[int, str]]:
    """(user id, "name · store") for the guides of the principal's stores (of `store_id`
    only, if given): those with a guide role and those with a workbench profile (a guide
    who left keeps the profile)."""
    seen: dict[int, str] = {}
    roles = StaffRole.objects.for_principal(principal).filter(role=Role.GUIDE)
    profiles = GuideProfile.objects.for_principal(principal)
    if store_id is not None:
        roles, profiles = roles.filter(store_id=store_id), profiles.filter(store_id=store_id)
    for role in roles.select_related("user", "store").order_by("store__code", "user__username")[:MAX_GUIDES]:
        seen.setdefault(
            role.user_id, f"{role.user.get_full_name() or role.user.username} · {role.store.code}"
        )
    for profile in profiles.select_related("user", "store")[:MAX_GUIDES]:
        seen.setdefault(
            profile.user_id, f"{profile.user.get_full_name() or profile.user.username} · {profile.store.code}"
        )
    return sorted(seen.items(), key=lambda item: item[1])


def chosen_store_id(form: forms.Form, stores, *, wanted: str | None = None) -> int | None:
    """The store the form is about: the posted (or `wanted`) one if it is the principal's,
    else the first."""
    raw = form.data.get(form.add_prefix("store")) if form.is_bound else wanted
    try:
        wanted = int(raw) if raw else None
    except (TypeError, ValueError):
        wanted = None
    if wanted is not None and stores.filter(pk=wanted).exists():
        return wanted
    first = stores.first()
    return first.pk if first is not None else None


class ReassignForm(forms.Form):
    store = ListedModelChoiceField(
        label=_("Store"),
        queryset=None,
        empty_label=None,
        widget=forms.Select(
            attrs={
                "hx-get": reverse_lazy("guides:assignment_guides"),
                "hx-trigger": "change",
                "hx-target": "#gp-guides",
            }
        ),
    )
    from_guide = forms.TypedChoiceField(
        label=_("Move every member of"), coerce=int, required=False, empty_value=None
    )
    member_numbers = forms.CharField(
        label=_("Or these member numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "M00000012, M00000013"}),
        help_text=_("Separated by commas, spaces or new lines."),
    )
    to_guides = forms.TypedMultipleChoiceField(
        label=_("To guide(s)"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    reason = forms.ChoiceField(
        label=_("Reason"),
        choices=[c for c in AssignmentReason.choices if c[0] != AssignmentReason.RECRUITED],
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args, principal: Principal, store_id: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.principal = principal
        stores = retail_selectors.stores_for(principal=principal).order_by("code")
        self.fields["store"].queryset = stores
        # the guides offered are the chosen store's (htmx reloads them when the store changes)
        self.store_id = chosen_store_id(self, stores, wanted=store_id)
        choices = guide_choices(principal, store_id=self.store_id) if self.store_id else []
        self.fields["from_guide"].choices = [("", _("Nobody: I list members below")), *choices]
        # targets: the store's guides first, then the other stores' (a store that closes
        # hands its members to guides elsewhere)
        own = {user_id for user_id, _label in choices}
        self.fields["to_guides"].choices = [
            *choices,
            *((user_id, label) for user_id, label in guide_choices(principal) if user_id not in own),
        ]

    def clean(self):
        data = super().clean()
        numbers = [n for n in re.split(r"[\s,;，]+", data.get("member_numbers") or "") if n]
        if bool(numbers) == bool(data.get("from_guide")):
            raise forms.ValidationError(
                _("Choose a guide to move members from, or list member numbers (not both).")
            )
        if len(numbers) > MAX_LISTED:
            self.add_error("member_numbers", _("At most %(n)s members at once.") % {"n": MAX_LISTED})
        data["member_ids"] = None
        if numbers and data.get("store") is not None:
            found = dict(
                Member.objects.for_principal(self.principal)
                .filter(store=data["store"], member_no__in=[n.upper() for n in numbers])
                .values_list("member_no", "pk")
            )
            missing = [n for n in numbers if n.upper() not in found]
            if missing:
                self.add_error(
                    "member_numbers",
                    _("Not members of this store: %(list)s") % {"list": ", ".join(missing[:10])},
                )
            data["member_ids"] = sorted(set(found.values()))
        return data

    def values(self) -> dict:
        data = self.cleaned_data
        return {
            "store": data["store"],
            "from_guide": data.get("from_guide"),
            "member_ids": data.get("member_ids"),
            "to_guides": data["to_guides"],
            "reason": data["reason"],
            "note": data.get("note", ""),
        }
