"""Template context shared by every page: who is asking and in which of their roles."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import SimpleLazyObject, cached_property
from django.utils.translation import ngettext

from .choices import Role

NAV_SECTIONS = {
    "home": "home",
    "hq_home": "home",
    "store_home": "home",
    "guide_home": "home",
    "store_list": "stores",
    "store_detail": "stores",
    "product_list": "products",
    "product_detail": "products",
    "order_list": "orders",
    "order_detail": "orders",
    "audit_list": "audit",
    "audit_user": "audit",
}

# Every page of these apps belongs to one nav section.
APP_NAV_SECTIONS = {
    "members": "members",
    "devices": "devices",
    "shelves": "shelves",
    "promotions": "promotions",
    "guides": "guides",
}


@dataclass(frozen=True)
class RoleChoice:
    """One entry of the role switch: a role to act in and where it applies."""

    role_id: int
    role: str
    label: str
    where: str
    brand: str
    active: bool


def role_choices(roles, active_role_id: int | None) -> list[RoleChoice]:
    """The roles a user can switch between. A manager of several stores of one brand acts
    for all of them at once, so those roles make one entry."""
    active = next((r for r in roles if r.pk == active_role_id), None)
    choices: list[RoleChoice] = []
    seen_manager_brands: set[int] = set()
    for role in roles:
        if role.role == Role.STORE_MANAGER:
            if role.brand_id in seen_manager_brands:
                continue
            seen_manager_brands.add(role.brand_id)
            stores = [
                r.store.name for r in roles if r.role == Role.STORE_MANAGER and r.brand_id == role.brand_id
            ]
            where = (
                stores[0]
                if len(stores) == 1
                else ngettext("%(count)d store", "%(count)d stores", len(stores)) % {"count": len(stores)}
            )
            is_active = (
                active is not None and active.role == Role.STORE_MANAGER and active.brand_id == role.brand_id
            )
        else:
            where = role.store.name if role.store_id else role.brand.name
            is_active = active is not None and active.pk == role.pk
        choices.append(
            RoleChoice(
                role_id=role.pk,
                role=role.role,
                label=role.get_role_display(),
                where=where,
                brand=role.brand.name,
                active=is_active,
            )
        )
    return choices


def principal(request):
    """`principal`, the user's `role_choices` (for the role switch), the `active_role`
    among them and the `nav_section` of the current page.

    Lazy: pages that do not show the nav (health, errors) pay no query.
    """
    principal = getattr(request, "principal", None)
    user = getattr(request, "user", None)

    def choices():
        if user is None or not user.is_authenticated:
            return []
        from .selectors import roles_for_user

        active_role_id = getattr(principal, "role_id", None)  # reads the roles once (middleware)
        roles = getattr(request, "staff_roles", None)
        return role_choices(roles_for_user(user=user) if roles is None else roles, active_role_id)

    lazy_choices = SimpleLazyObject(choices)

    def active_role():
        return next((c for c in lazy_choices if c.active), None)

    match = getattr(request, "resolver_match", None)
    nav_section = None
    if match and match.namespace == "retail":
        nav_section = NAV_SECTIONS.get(match.url_name)
    elif match and match.namespace in APP_NAV_SECTIONS:
        nav_section = APP_NAV_SECTIONS[match.namespace]
    return {
        "nav_section": nav_section,
        "principal": principal,
        "role_choices": lazy_choices,
        "active_role": SimpleLazyObject(active_role),
        "notification_bell": NotificationBell(request),
    }


class NotificationBell:
    """The header's bell: the user's open notifications, counted only when a page shows it
    (from the per-user cache; retail.notifications.unread_count)."""

    def __init__(self, request):
        self.request = request

    @cached_property
    def count(self) -> int:
        user = getattr(self.request, "user", None)
        if user is None or not user.is_authenticated:
            return 0
        from . import notifications
        from .selectors import roles_for_user

        roles = getattr(self.request, "staff_roles", None)
        roles = roles_for_user(user=user) if roles is None else roles
        return notifications.unread_count(user=user, brand_ids=notifications.brand_ids_of(roles))

    @property
    def label(self) -> str:
        from .notifications import UNREAD_CAP

        return f"{UNREAD_CAP - 1}+" if self.count >= UNREAD_CAP else str(self.count)
