"""Pages of store spaces (namespace retail:spaces): the list, a space's page (use, check-in
and check-out, utilisation per hour, rules), registering and editing spaces, reconstruction
rules and the booking page guides use from the floor (tablet first).

Thin: reads through spaces.selectors (scoped by principal), writes through spaces.services.
Another brand's or store's space is a 404; a guide may not change spaces (403)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from ..errors import DomainError
from ..forms import add_domain_errors
from . import forms, selectors, services

NAV = {"nav_section": "stores"}


def _space(request, space_id: int):
    return get_object_or_404(selectors.spaces_for(principal=request.principal), pk=space_id)


def _require_manager(request) -> None:
    if not services.may_manage_spaces(request.principal):
        raise PermissionDenied


@login_required
def space_list(request):
    """The spaces of the principal's stores (HQ: every store, with a store filter), with the
    people in each now."""
    principal = request.principal
    form = forms.SpaceFilterForm(request.GET or None, principal=principal)
    spaces = list(selectors.space_list(principal=principal, store_id=form.store_id())[:500])
    return render(
        request,
        "spaces/space_list.html",
        {**NAV, "form": form, "spaces": spaces, "may_manage": services.may_manage_spaces(principal)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def space_new(request):
    """Register a space in one of the principal's stores (HQ, store managers)."""
    _require_manager(request)
    principal = request.principal
    initial = {"store": request.GET.get("store")} if request.GET.get("store") else None
    form = forms.SpaceForm(request.POST or None, principal=principal, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            space = services.create_space(principal=principal, **data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Space “%(name)s” registered.") % {"name": space.name})
            return redirect("retail:spaces:space_detail", space_id=space.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "spaces/space_form.html", {**NAV, "form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def space_edit(request, space_id: int):
    """Change a space's details (HQ, the store's managers)."""
    space = _space(request, space_id)
    _require_manager(request)
    principal = request.principal
    initial = {
        "kind": space.kind,
        "name": space.name,
        "location": space.location,
        "area_m2": space.area_m2,
        "capacity": space.capacity,
        "opens_at": space.opens_at,
        "closes_at": space.closes_at,
        "tags": ", ".join(space.tags or []),
        "is_active": space.is_active,
    }
    form = forms.SpaceForm(request.POST or None, principal=principal, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_space(space=space, principal=principal, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Space saved."))
            return redirect("retail:spaces:space_detail", space_id=space.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "spaces/space_form.html", {**NAV, "form": form, "space": space}, status=status)


@login_required
@require_POST
def space_deactivate(request, space_id: int):
    """Take the space out of use (HQ, the store's managers); its history stays."""
    space = _space(request, space_id)
    _require_manager(request)
    services.deactivate_space(space=space, principal=request.principal)
    messages.success(request, _("The space is out of use."))
    return redirect("retail:spaces:space_detail", space_id=space.pk)


@login_required
def space_detail(request, space_id: int):
    """One space: details, who is in it now (check-in/out), utilisation per hour of day over
    a date range (7 days by default) and its reconstruction rules."""
    space = _space(request, space_id)
    principal = request.principal
    range_form = forms.RangeForm(request.GET or None)
    start, end = range_form.range()
    usage = selectors.utilisation(space=space, start=start, end=end)
    chart = [
        {
            "hour": f"{row['hour']:02d}:00",
            "rate": round((row["rate"] or 0) * 100, 1),
            "used": row["used_minutes"],
        }
        for row in usage["hours"]
        if row["open_minutes"]
    ]
    return render(
        request,
        "spaces/space_detail.html",
        {
            **NAV,
            "space": space,
            "open_uses": selectors.open_uses(space=space),
            "recent_uses": selectors.recent_uses(space=space),
            "rules": selectors.rules_of(space=space),
            "usage": usage,
            "usage_rate": round(usage["rate"] * 100, 1) if usage["rate"] is not None else None,
            "chart": chart,
            "range_form": range_form,
            "check_in_form": forms.CheckInForm(),
            "may_manage": services.may_manage_spaces(principal),
            "now": timezone.now(),
        },
    )


@login_required
@require_POST
def space_check_in(request, space_id: int):
    """Staff check people into the space (refused beyond its capacity)."""
    space = _space(request, space_id)
    form = forms.CheckInForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("People must be a whole number from 1 to 500."))
    else:
        try:
            services.check_in(space=space, people=form.cleaned_data["people"], staff=request.user)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Checked in."))
    return redirect("retail:spaces:space_detail", space_id=space.pk)


@login_required
@require_POST
def space_check_out(request, space_id: int):
    """Close one of the space's open uses (its id in the form); a second check-out is refused."""
    space = _space(request, space_id)
    try:
        use_id = int(request.POST.get("use", ""))
    except ValueError:
        use_id = 0
    use = get_object_or_404(space.uses.all(), pk=use_id)
    try:
        services.check_out(use=use)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Checked out."))
    return redirect("retail:spaces:space_detail", space_id=space.pk)


@login_required
@require_http_methods(["GET", "POST"])
def rule_new(request, space_id: int):
    """Reconstruct the space for a window: exclusive to a tier (or open to every member),
    bookable in slots (HQ, the store's managers)."""
    space = _space(request, space_id)
    _require_manager(request)
    principal = request.principal
    form = forms.RuleForm(request.POST or None, principal=principal)
    if request.method == "POST" and form.is_valid():
        try:
            rule = services.create_rule(space=space, principal=principal, **form.cleaned_data)
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": rule.name})
            return redirect("retail:spaces:space_detail", space_id=space.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "spaces/rule_form.html", {**NAV, "form": form, "space": space}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def booking_page(request, space_id: int):
    """The day's slots of a space; book a member (found by exact phone among those the
    principal sees: a guide, their own) into a free slot, or cancel a booking."""
    space = _space(request, space_id)
    principal = request.principal
    day_form = forms.DayForm(request.GET or None)
    day = day_form.day_or_today()
    book_form = forms.BookForm(request.POST or None)
    status = 200
    if request.method == "POST":
        status = 400
        if book_form.is_valid():
            member = selectors.member_to_book(principal=principal, phone=book_form.cleaned_data["phone"])
            slot = book_form.cleaned_data["slot"]
            day = timezone.localtime(slot).date()
            if member is None:
                book_form.add_error("phone", _("No member of yours has this phone number."))
            else:
                try:
                    services.book(space=space, member=member, slot_start=slot, booked_by=request.user)
                except DomainError as exc:
                    add_domain_errors(book_form, exc)
                else:
                    messages.success(
                        request,
                        _("%(member)s (%(phone)s) booked for %(time)s.")
                        % {
                            "member": member.display_name,
                            "phone": member.phone_masked,
                            "time": timezone.localtime(slot).strftime("%m-%d %H:%M"),
                        },
                    )
                    url = reverse("retail:spaces:booking_page", kwargs={"space_id": space.pk})
                    return redirect(f"{url}?day={day.isoformat()}")
        elif "slot" in book_form.errors:
            book_form.add_error(None, _("Pick a free slot."))
    return render(
        request,
        "spaces/booking_page.html",
        {
            **NAV,
            "space": space,
            "day": day,
            "day_form": day_form,
            "prev_day": day - dt.timedelta(days=1),
            "next_day": day + dt.timedelta(days=1),
            "slots": selectors.slots(space=space, day=day),
            "form": book_form,
            "exclusive": selectors.exclusive_spaces(principal=principal, store_id=space.store_id),
        },
        status=status,
    )


@login_required
@require_POST
def booking_cancel(request, booking_id: int):
    """Cancel a booking (HQ and managers any; a guide those they made or of their members)."""
    booking = get_object_or_404(selectors.bookings_for(principal=request.principal), pk=booking_id)
    if not services.may_cancel(request.principal, booking):
        raise PermissionDenied
    try:
        services.cancel(booking=booking, by=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Booking cancelled; the slot is free again."))
    url = reverse("retail:spaces:booking_page", kwargs={"space_id": booking.space_id})
    return redirect(f"{url}?day={timezone.localtime(booking.slot_start).date().isoformat()}")
