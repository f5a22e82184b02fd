"""Member pages: find a member, read their page, reveal a phone number (audited).

Thin: reads through selectors (members' own, and retail's for the ledger and the audit
trail), the one write through members.services. Every lookup is scoped to the principal, so
another brand's (or store's) member is a 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from retail import selectors as retail_selectors
from retail.choices import AuditAction, Role
from retail.errors import DomainError
from retail.forms import add_domain_errors

from .. import selectors, services, timeline
from ..choices import ConsentSource
from ..forms import ConsentForm, MemberSearchForm, PointsAdjustForm, TierForm
from ..models import Member
from ..selectors import profiles as profile_selectors
from ..selectors import segments as segment_selectors

REVEAL_PERMISSION = "members.reveal_member_phone"
PER_PAGE = 50
HISTORY = 10  # newest points entries and consent statements on the member page


def _may_reveal(user) -> bool:
    return user.has_perm(REVEAL_PERMISSION)


def _sees_audit(principal) -> bool:
    return principal.role == Role.HQ_ADMIN or principal.is_superuser


@login_required
def member_list(request):
    """Search by exact phone, member number or external id; else the visible members,
    newest first, a keyset page at a time (?after=<id>), optionally of one store."""
    principal = request.principal
    form = MemberSearchForm(request.GET or None, principal=principal)
    filters = form.filters()
    if filters["q"]:
        found = selectors.member_search(principal=principal, q=filters["q"])
        members, next_after = list(found[:PER_PAGE]), None
    else:
        members, next_after = selectors.member_page(
            principal=principal, store_id=filters["store_id"], after=filters["after"], limit=PER_PAGE
        )
    params = request.GET.copy()
    params.pop("after", None)
    context = {
        "form": form,
        "q": filters["q"],
        "members": members,
        "next_after": next_after,
        "is_continued": bool(filters["after"]) and not filters["q"],
        "query": params.urlencode(),
    }
    if request.htmx and request.htmx.target == "member-rows":
        return render(request, "members/_member_rows.html", context)
    return render(request, "members/member_list.html", context)


@login_required
def member_detail(request, member_id: int):
    """One member: masked identity, recruitment, tier and points, consent with its history,
    orders; HQ also sees who revealed the phone."""
    principal = request.principal
    member = get_object_or_404(selectors.members_for_pages(principal=principal), pk=member_id)
    return render(request, "members/member_detail.html", _detail_context(request, member))


@never_cache
@login_required
@require_POST
def member_reveal_phone(request, member_id: int):
    """The full phone number, for a user with the permission; audited by the service."""
    principal = request.principal
    member = get_object_or_404(selectors.members_for_pages(principal=principal), pk=member_id)
    if not _may_reveal(request.user):
        raise PermissionDenied
    phone = services.reveal_member_phone(member=member)
    if request.htmx:
        # HQ's list of reveals on the page is refreshed by the same response (out of band)
        reveals = _reveals(principal, member) if _sees_audit(principal) else None
        return render(
            request, "members/_revealed_phone.html", {"member": member, "phone": phone, "reveals": reveals}
        )
    return render(request, "members/member_detail.html", {**_detail_context(request, member), "phone": phone})


@login_required
@require_POST
def member_consent(request, member_id: int):
    """Record a consent statement taken in the store (any staff who sees the member)."""
    principal = request.principal
    member = get_object_or_404(selectors.members_for_pages(principal=principal), pk=member_id)
    form = ConsentForm(request.POST)
    status = 422
    if form.is_valid():
        services.record_consent(
            member=member,
            channel=form.cleaned_data["channel"],
            granted=form.cleaned_data["granted"],
            source=ConsentSource.STORE,
        )
        member.refresh_from_db()
        form, status = ConsentForm(), 200
    if request.htmx:  # the consent card alone: the rest of the page did not change
        context = {"member": member, "consents": _consents(member), "consent_form": form}
        return render(request, "members/_consent_card.html", context, status=status)
    return redirect("members:member_detail", member_id=member.pk)


@login_required
@require_POST
def member_points_adjust(request, member_id: int):
    """HQ corrects a member's points with a reason (the ledger keeps it; audited)."""
    principal = request.principal
    member = get_object_or_404(selectors.members_for_pages(principal=principal), pk=member_id)
    if not _sees_audit(principal):
        raise PermissionDenied
    form = PointsAdjustForm(request.POST)
    status = 200
    if form.is_valid():
        try:
            services.adjust_points(member=member, **form.cleaned_data)
        except DomainError as exc:
            form.add_error("points", exc.message)
            status = 422
        else:
            member.refresh_from_db()
            form = PointsAdjustForm()
    else:
        status = 422
    if request.htmx:  # the points card alone
        context = {"member": member, "points": _points(member), "points_form": form}
        return render(request, "members/_points_card.html", context, status=status)
    return redirect("members:member_detail", member_id=member.pk)


@login_required
def tier_list(request):
    """The brand's tiers and how many visible members are in each; HQ defines or changes a
    tier (by code) here, and members are re-tiered in the background."""
    principal = request.principal
    if not principal.brand_id:
        raise PermissionDenied
    may_define = _sees_audit(principal)
    form = TierForm(request.POST or None)
    if request.method == "POST":
        if not may_define:
            raise PermissionDenied
        if form.is_valid():
            try:
                tier = services.define_tier(brand_id=principal.brand_id, **form.cleaned_data)
            except DomainError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(
                    request, _("Tier %(name)s saved; members are being re-tiered.") % {"name": tier.name}
                )
                return redirect("members:tier_list")
    context = {
        "rows": selectors.tier_distribution(principal=principal),
        "form": form,
        "may_define": may_define,
    }
    return render(request, "members/tier_list.html", context, status=422 if form.errors else 200)


def _detail_context(request, member: Member) -> dict:
    principal = request.principal
    return {
        "member": member,
        "orders": retail_selectors.orders_of_member(principal=principal, member=member, limit=20),
        "may_reveal": _may_reveal(request.user),
        "reveals": _reveals(principal, member) if _sees_audit(principal) else None,
        "points": _points(member),
        "consents": _consents(member),
        "profile": profile_selectors.profile_of(member=member),
        "tags": segment_selectors.tags_of(member=member),
        "timeline": timeline.timeline_of(member=member, principal=principal, limit=30),
        "consent_form": ConsentForm(),
        "points_form": PointsAdjustForm() if _sees_audit(principal) else None,
    }


def _points(member: Member) -> list:
    return list(selectors.points_ledger(member=member)[:HISTORY])


def _consents(member: Member) -> list:
    return list(selectors.consent_history(member=member)[:HISTORY])


def _reveals(principal, member: Member) -> list:
    """The newest 50 reveals of the member's phone: who, when, from where."""
    events = retail_selectors.audit_events_for(
        principal=principal,
        object_type=Member._meta.label_lower,
        object_id=str(member.pk),
        action=AuditAction.REVEAL,
    )
    return list(events.order_by("-created_at", "-id")[:50])
