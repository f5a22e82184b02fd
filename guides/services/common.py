"""What every workbench service needs: the brand's workbench settings, a guide's profile,
and the member a principal may act on."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from members.models import Member
from retail.errors import DomainError
from retail.tenancy import Principal

from ..models import GuideProfile, GuideSettings


class NotAllowed(DomainError):
    status = 403
    code = "not_allowed"


def settings_for(brand_id: int) -> GuideSettings:
    """The brand's workbench settings (made with the defaults on first use)."""
    row, _created = GuideSettings.objects.get_or_create(brand_id=brand_id)
    return row


def profile_of(*, brand_id: int, user_id: int) -> GuideProfile | None:
    return GuideProfile.objects.filter(brand_id=brand_id, user_id=user_id).select_related("store").first()


def member_for(principal: Principal, member_id: int) -> Member:
    """The member, if the principal may act on them (a guide: own members; a manager: the
    store's). Anything else is DoesNotExist, which pages and the API answer with 404."""
    return Member.objects.for_principal(principal).get(pk=member_id)


def acting_guide(principal: Principal, member: Member) -> tuple[int, int]:
    """(guide user id, store id) an interaction is recorded for: the guide themselves, or
    — for a manager or HQ acting — the member's guide and store."""
    if principal.guide_user_id is not None:
        store_id = next(iter(principal.store_ids)) if principal.store_ids else member.store_id
        return principal.guide_user_id, store_id
    if member.guide_id is None or member.store_id is None:
        raise DomainError("no_guide", _("This member has no guide in a store yet; assign one first."))
    return member.guide_id, member.store_id
