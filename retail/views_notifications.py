"""The staff notification inbox (/notifications/) and the header's bell. Thin: reads and
writes through retail.notifications, always for the logged-in user only (somebody else's
notification is a 404). Routes in `urlpatterns`, included by retail/page_urls.py."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from . import notifications
from .models import StaffNotification
from .selectors import page_of, roles_for_user

PER_PAGE = 30


def _brand_ids(request) -> frozenset[int]:
    roles = getattr(request, "staff_roles", None)
    return notifications.brand_ids_of(roles_for_user(user=request.user) if roles is None else roles)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@never_cache
@login_required
@require_GET
def inbox(request):
    """The user's notifications, open ones first; `?unread=1` shows the open ones only."""
    unread_only = request.GET.get("unread") == "1"
    qs = notifications.inbox(user=request.user, brand_ids=_brand_ids(request), unread_only=unread_only)
    page = page_of(qs, page=request.GET.get("page"), per_page=PER_PAGE)
    context = {
        "page": page,
        "rows": [notifications.word(n) for n in page.items],
        "unread_only": unread_only,
        "query": "unread=1" if unread_only else "",
    }
    return render(request, "retail/notifications/inbox.html", context)


@never_cache
@require_GET
def bell(request):
    """The header's bell alone (htmx swaps it when the page hears the count changed). Logged
    out meanwhile: 204, so htmx swaps nothing (not the login page into the header)."""
    if not request.user.is_authenticated:
        return HttpResponse(status=204)
    return render(request, "retail/notifications/_bell.html")


def _mark_read(request, notification_id: int) -> StaffNotification:
    try:
        return notifications.mark_read(
            user=request.user, brand_ids=_brand_ids(request), notification_id=notification_id
        )
    except StaffNotification.DoesNotExist:
        raise Http404 from None


@login_required
@require_POST
def mark_read(request, notification_id: int):
    """Mark one notification read; htmx gets the row back, a plain form the inbox."""
    found = _mark_read(request, notification_id)
    if _is_htmx(request):
        response = render(request, "retail/notifications/_row.html", {"row": notifications.word(found)})
        response["HX-Trigger"] = "notifications-changed"  # the bell on this page follows
        return response
    return redirect(_back(request))


@login_required
@require_POST
def open_notification(request, notification_id: int):
    """Open what a notification is about (its link), marking it read on the way."""
    found = _mark_read(request, notification_id)
    if found.url and url_has_allowed_host_and_scheme(
        found.url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(found.url)
    return redirect(_back(request))


@login_required
@require_POST
def mark_all_read(request):
    notifications.mark_all_read(user=request.user, brand_ids=_brand_ids(request))
    return redirect(_back(request))


def _back(request) -> str:
    inbox_url = reverse("retail:notifications:inbox")
    if request.POST.get("unread") == "1":
        return f"{inbox_url}?unread=1"
    return inbox_url


app_name = "notifications"

urlpatterns = [
    path("", inbox, name="inbox"),
    path("bell/", bell, name="bell"),
    path("read-all/", mark_all_read, name="mark_all_read"),
    path("<int:notification_id>/read/", mark_read, name="mark_read"),
    path("<int:notification_id>/open/", open_notification, name="open"),
]
