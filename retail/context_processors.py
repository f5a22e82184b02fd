"""Template context shared by every page: who is asking and in which of their roles."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

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


def principal(request):
    """`principal`, the user's `roles` (for the role switch), the `active_role` and the
    `nav_section` of the current page.

    Lazy: pages that do not show the nav (health, errors) pay no query.
    """
    principal = getattr(request, "principal", None)
    user = getattr(request, "user", None)

    def roles():
        if user is None or not user.is_authenticated:
            return []
        cached = getattr(request, "_tiandi_roles", None)
        if cached is None:
            from .selectors import roles_for_user

            cached = request._tiandi_roles = roles_for_user(user=user)
        return cached

    def active_role():
        role_id = getattr(principal, "role_id", None)
        return next((r for r in roles() if r.pk == role_id), None)

    match = getattr(request, "resolver_match", None)
    return {
        "nav_section": NAV_SECTIONS.get(match.url_name) if match and match.namespace == "retail" else None,
        "principal": principal,
        "roles": SimpleLazyObject(roles),
        "active_role": SimpleLazyObject(active_role),
    }
