"""The guide's tablet workbench (/guides/): today's tasks, my members with search, my month
in numbers and the store's leaderboard; a member's card; the offline snapshot and sync.

- GET  /guides/                         the workbench (guides; managers and HQ go to the task board)
- GET  /guides/workbench/tasks|members|numbers|leaderboard/   htmx partials of its sections
- POST /guides/workbench/tasks/<task_id>/done|snooze/         a task done / put aside until tomorrow
- GET  /guides/members/<member_id>/      a member's card
- POST /guides/members/<member_id>/note/ a note or visit (the form's client id: recorded once)
- GET  /guides/offline/snapshot/         what the tablet caches (JSON, masked fields only)
- POST /guides/offline/sync/             the tablet's queued items (JSON) -> a status per item
- GET  /guides/sw.js                     the service worker (scope /guides/)

Thin: reads through guides.selectors.workbench, writes through guides.services."""

from __future__ import annotations

import datetime as dt
import json

from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import NoReverseMatch, path, reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from retail import serviceworker
from retail.errors import DomainError
from retail.rows import row_url, url_pattern

from ..choices import InteractionSource, NextStep, Outcome, TaskKind
from ..forms.workbench import MemberSearchForm, QuickNoteForm
from ..selectors import profiles as profile_selectors
from ..selectors import workbench as selectors
from ..services import interactions, offline
from ..services import tasks as task_services
from ..services.common import member_for

MAX_JSON_BYTES = 512 * 1024
SNOOZE_HOUR = 10  # a snoozed task comes back at 10:00 the next local day
SHELL_STATIC = (
    "css/tiandi.css",
    "css/guides-workbench.css",
    "js/guides-workbench.js",
    "js/menu.js",
    "vendor/htmx/htmx.min.js",
    "favicon.svg",
)


# --- helpers ------------------------------------------------------------------------------


def _is_guide(principal) -> bool:
    return principal.guide_user_id is not None


def _guide(request):
    """The acting principal, who must be a guide (the workbench's sections are theirs)."""
    if not _is_guide(request.principal):
        raise PermissionDenied
    return request.principal


def _elsewhere() -> str:
    """Where managers and HQ go instead of the workbench: the task board, else performance."""
    for name in ("guides:task_board", "guides:performance"):
        try:
            return reverse(name)
        except NoReverseMatch:
            continue
    return reverse("retail:home")


def _parse_after(request) -> int | None:
    raw = request.GET.get("after") or ""
    return int(raw) if raw.isdigit() else None


def _strings() -> dict:
    # worded when the page renders, in its language; the script fills the numbers
    return {
        "waiting": _lazy("%(n)s waiting to sync"),
        "waitingOne": _lazy("1 waiting to sync"),
        "synced": _lazy("All synced"),
        "syncing": _lazy("Syncing…"),
        "offline": _lazy(
            "Offline: showing what this tablet saved at %(time)s. Notes are kept and sent later."
        ),
        "offlineNoSnapshot": _lazy("Offline, and nothing saved on this tablet yet."),
        "rejected": _lazy("Not synced: %(error)s"),
        "queued": _lazy("Saved on this tablet; it will sync when the network is back."),
        "saved": _lazy("Saved."),
        "overdue": _lazy("Overdue"),
        "note": _lazy("Note"),
        "noteFor": _lazy("Note for %(member)s"),
        "noMembers": _lazy("No member matches."),
        "noTasks": _lazy("Nothing to do today."),
        "failed": _lazy("Could not reach the server; the note is kept on this tablet."),
    }


def _config(request) -> dict:
    return {
        "user": request.user.pk,
        "snapshot": reverse("guides:offline_snapshot"),
        "sync": reverse("guides:offline_sync"),
        "serviceWorker": reverse("guides:workbench_sw"),
        "scope": reverse("guides:workbench"),
        "home": reverse("guides:workbench"),
        "memberCard": reverse("guides:member_card", kwargs={"member_id": 0}),
        "syncSeconds": 30,
    }


# The task and member rows are written here rather than in a template: with 50 tasks and 30
# members the template engine spent more time on the rows (variable lookups, localisation,
# URL reversing) than the rest of the request together (bench/workbench_home.py). The markup
# matches templates/guides/workbench/_tasks.html / _members.html, which wrap these rows.
# Every value from the database or a translation goes through escape(); the rest is literal.


def _labels(**labels: str) -> dict[str, str]:
    return {key: escape(value) for key, value in labels.items()}


def _call_form(url: str, csrf: str, task_id: int | None, label: str) -> str:
    task = f'<input type="hidden" name="task" value="{int(task_id)}">' if task_id else ""
    return (
        f'<form method="post" action="{url}" hx-post="{url}" hx-target="#wb-call-panel" hx-swap="innerHTML">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">{task}'
        f'<button type="submit" class="button button-primary wb-button" data-wb-call>{label}</button></form>'
    )


def _task_form(url: str, csrf: str, css: str, data: str, label: str) -> str:
    return (
        f'<form method="post" action="{url}" hx-post="{url}" hx-target="#wb-tasks" hx-swap="innerHTML">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
        f'<button type="submit" class="button {css} wb-button" {data}>{label}</button></form>'
    )


def _member_line(member, card_url: str, *, number: bool = False) -> str:
    facts = [member.member_no] if number else []
    facts.append(member.phone_masked)
    if member.tier_id and member.tier:
        facts.append(member.tier.name)
    return (
        f'<a class="wb-member-link" href="{card_url}"><strong>{escape(member.display_name)}</strong></a>'
        f'<span class="muted">{escape(" · ".join(facts))}</span>'
    )


def task_rows(tasks: list, *, csrf: str) -> str:
    """The rows of today's tasks (HTML)."""
    csrf = escape(csrf)
    card = escape(url_pattern("guides:member_card", "member_id"))
    call = escape(url_pattern("guides:call_start", "member_id"))
    message = escape(url_pattern("guides:message_send", "member_id"))
    done = escape(url_pattern("guides:workbench_task_done", "task_id"))
    snooze = escape(url_pattern("guides:workbench_task_snooze", "task_id"))
    t = _labels(call=_("Call"), message=_("Message"), note=_("Note"), done=_("Done"), snooze=_("Tomorrow"))
    overdue_badge = f' <span class="badge badge-no">{escape(_("Overdue"))}</span>'
    kinds = {value: str(label) for value, label in TaskKind.choices}
    rows = []
    for task in tasks:
        member = task.member
        overdue = getattr(task, "is_overdue", False)
        what = " · ".join(
            x
            for x in (kinds.get(task.kind, task.kind), task.title, f"{timezone.localtime(task.due_at):%H:%M}")
            if x
        )
        message_url = row_url(message, member.pk)
        buttons = [
            _call_form(row_url(call, member.pk), csrf, task.pk, t["call"])
            if call and member.consent_call
            else "",
            f'<a class="button wb-button" href="{message_url}?task={task.pk}">{t["message"]}</a>'
            if message_url
            else "",
            f'<button type="button" class="button wb-button" data-wb-note-open data-member="{member.pk}" '
            f'data-task="{task.pk}" data-label="{escape(member.display_name)}">{t["note"]}</button>',
            _task_form(row_url(done, task.pk), csrf, "", "data-wb-done", t["done"]),
            _task_form(row_url(snooze, task.pk), csrf, "button-quiet", "data-wb-snooze", t["snooze"]),
        ]
        rows.append(
            f'<li class="wb-item wb-task{" wb-overdue" if overdue else ""}" data-wb-task="{task.pk}">'
            f'<div class="wb-item-main">{_member_line(member, row_url(card, member.pk))}'
            f'<span class="wb-task-what">{escape(what)}{overdue_badge if overdue else ""}</span></div>'
            f'<div class="wb-item-actions">{"".join(buttons)}</div></li>'
        )
    return mark_safe("".join(rows))  # noqa: S308 — values escaped above


def member_rows(members: list, *, csrf: str) -> str:
    """The rows of my members (HTML)."""
    csrf = escape(csrf)
    card = escape(url_pattern("guides:member_card", "member_id"))
    call = escape(url_pattern("guides:call_start", "member_id"))
    t = _labels(call=_("Call"), open=_("Open"), note=_("Note"), last=_("Last contact"))
    rows = []
    for member in members:
        card_url = row_url(card, member.pk)
        last = getattr(member, "last_contact_at", None)
        last_html = (
            f'<span class="muted wb-small">{t["last"]} {timezone.localtime(last):%m-%d %H:%M}</span>'
            if last
            else ""
        )
        call_html = (
            _call_form(row_url(call, member.pk), csrf, getattr(member, "open_task_id", None), t["call"])
            if call and member.consent_call
            else ""
        )
        rows.append(
            f'<li class="wb-item" data-wb-member="{member.pk}"><div class="wb-item-main">'
            f"{_member_line(member, card_url, number=True)}{last_html}</div>"
            f'<div class="wb-item-actions">{call_html}<a class="button wb-button" href="{card_url}">{t["open"]}</a>'
            f'<button type="button" class="button wb-button" data-wb-note-open data-member="{member.pk}" '
            f'data-label="{escape(member.display_name)}">{t["note"]}</button></div></li>'
        )
    return mark_safe("".join(rows))  # noqa: S308 — values escaped above


def _member_page_context(request, principal) -> dict:
    form = MemberSearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    members, next_after = selectors.member_page(principal, q=q, after=_parse_after(request))
    return {
        "members": members,
        "member_rows": member_rows(members, csrf=get_token(request)),
        "next_after": next_after,
        "q": q,
        "search_form": form,
    }


def _numbers_context(principal) -> dict:
    numbers, board = selectors.numbers_and_board(principal)
    return {"numbers": numbers, "board": board, "me": principal.user_id}


def _tasks_context(request, principal) -> dict:
    now = timezone.now()
    tasks = selectors.today_tasks(principal, now=now)
    return {
        "tasks": tasks,
        "task_rows": task_rows(tasks, csrf=get_token(request)),
        "now": now,
    }


# --- the page -----------------------------------------------------------------------------

# The home page's content (today's tasks, my members' first page, my month, the store's
# board, and the search, note dialog and sub-navigation around them) comes from the cache:
# rendered per guide, role, language and time zone, kept under the guide's and their brand's
# versions (guides.selectors.workbench: every write through guides.services bumps them) for
# SECTION_SECONDS at most. The rows and forms carry the CSRF token of whoever rendered them:
# cached with CSRF_MARK in its place, and the reader's own token put back on the way out. A
# search or a later page (no script) and the htmx partials always read fresh.
CSRF_MARK = "__wb_csrf__"


def _section_key(principal) -> str:
    return ":".join(
        str(part)
        for part in (
            "guides:wb:s",
            principal.guide_user_id,
            principal.role_id,
            selectors.workbench_store_id(principal),
            get_language(),
            timezone.get_current_timezone_name(),
        )
    )


def _render_sections(request, principal) -> dict[str, str]:
    """The four sections, rendered fresh (the CSRF token as CSRF_MARK)."""
    now = timezone.now()
    tasks = selectors.today_tasks(principal, now=now)
    members, next_after = selectors.member_page(principal)
    numbers = _numbers_context(principal)
    return {
        "tasks": render_to_string(
            "guides/workbench/_tasks.html", {"tasks": tasks, "task_rows": task_rows(tasks, csrf=CSRF_MARK)}
        ),
        "members": render_to_string(
            "guides/workbench/_members.html",
            {
                "members": members,
                "member_rows": member_rows(members, csrf=CSRF_MARK),
                "next_after": next_after,
            },
        ),
        "numbers": render_to_string("guides/workbench/_numbers.html", numbers),
        "board": render_to_string("guides/workbench/_leaderboard.html", numbers),
    }


def _render_content(request, principal, form, *, members_html: str | None = None) -> str:
    """The page's content with its sections, rendered fresh (the CSRF token as CSRF_MARK)."""
    sections = _render_sections(request, principal)
    if members_html is not None:
        sections["members"] = members_html
    context = {
        "section": "workbench",
        "search_form": form,
        "outcomes": Outcome.choices,
        "next_steps": NextStep.choices,
        "csrf_token": CSRF_MARK,
        "has_phone": profile_selectors.guide_has_phone(principal),  # the "add your phone" banner
        **{f"{name}_html": mark_safe(html) for name, html in sections.items()},  # noqa: S308 — rendered
    }
    return render_to_string("guides/workbench/_home_content.html", context, request)


def _cached(principal, key: str, render) -> str:
    """HTML kept under `key` if it was rendered under the guide's and brand's current
    versions (versions and HTML in one cache round trip), else `render()`ed and kept."""
    version_keys = selectors.version_keys(principal)
    found = cache.get_many([*version_keys, key])
    versions = selectors.versions_of(principal, {k: v for k, v in found.items() if k in version_keys})
    cached = found.get(key)
    if cached is not None and cached[0] == versions:
        return cached[1]
    html = render()
    cache.set(key, (versions, html), selectors.SECTION_SECONDS)
    return html


def _content(request, principal, form) -> str:
    """The page's content (CSRF_MARK for the tokens), from the cache or rendered."""
    return _cached(principal, _section_key(principal), lambda: _render_content(request, principal, form))


@login_required
@require_GET
@never_cache
def workbench(request):
    principal = request.principal
    if not _is_guide(principal):
        return redirect(_elsewhere())
    form = MemberSearchForm(request.GET or None)
    q = form.cleaned_data["q"] if form.is_valid() else ""
    csrf = escape(get_token(request))
    if q or _parse_after(request):  # a search or a later page (no script): read fresh
        members = render_to_string(
            "guides/workbench/_members.html", _member_page_context(request, principal), request
        )
        html = _render_content(request, principal, form, members_html=members)
    elif not request.GET and not len(get_messages(request)):
        return HttpResponse(_page(request, principal).replace(CSRF_MARK, csrf))
    else:
        html = _content(request, principal, MemberSearchForm())
    context = {
        **_page_context(request),
        "content_html": mark_safe(html.replace(CSRF_MARK, csrf)),  # noqa: S308 — rendered above
    }
    return render(request, "guides/workbench/home.html", context)


def _page_context(request) -> dict:
    return {
        "section": "workbench",
        "nav_section": "guides",
        "config": _config(request),
        "strings": _strings(),
    }


def _page_key(request, principal) -> str:
    # the page's chrome shows the user's roles (the role switch) besides what the sections key holds
    roles = ",".join(str(role.pk) for role in getattr(request, "staff_roles", ()))
    return f"{_section_key(principal)}:page:{roles}"


def _page(request, principal) -> str:
    """The whole page (chrome, sections, settings for the script) with CSRF_MARK for every
    token, from the cache under the same versions as the sections; a tablet opening its
    workbench then costs what the bare view does plus one cache round trip. Only the plain
    GET /guides/ with no pending flash messages comes here (those show on the page)."""
    return _cached(principal, _page_key(request, principal), lambda: _render_page(request, principal))


def _render_page(request, principal) -> str:
    content = _content(request, principal, MemberSearchForm())
    context = {
        **_page_context(request),
        "csrf_token": CSRF_MARK,  # above the context processors': every form gets the mark
        "content_html": mark_safe(content),  # noqa: S308 — rendered by _content
    }
    return render_to_string("guides/workbench/home.html", context, request)


@login_required
@require_GET
@never_cache
def tasks_partial(request):
    return render(request, "guides/workbench/_tasks.html", _tasks_context(request, _guide(request)))


@login_required
@require_GET
@never_cache
def members_partial(request):
    principal = _guide(request)
    return render(request, "guides/workbench/_members.html", _member_page_context(request, principal))


@login_required
@require_GET
@never_cache
def numbers_partial(request):
    return render(request, "guides/workbench/_numbers.html", _numbers_context(_guide(request)))


@login_required
@require_GET
@never_cache
def leaderboard_partial(request):
    return render(request, "guides/workbench/_leaderboard.html", _numbers_context(_guide(request)))


def _task_answer(request) -> HttpResponse:
    if request.headers.get("HX-Request"):
        response = render(request, "guides/workbench/_tasks.html", _tasks_context(request, request.principal))
        # the list is swapped: trigger after the swap, on body, so every section refreshes
        response["HX-Trigger-After-Swap"] = json.dumps(
            {"guides-task-done": True, "guides-numbers-changed": True}
        )
        return response
    return redirect("guides:workbench")


@login_required
@require_POST
def task_done(request, task_id: int):
    try:
        task = selectors.task_for(request.principal, task_id)
    except ObjectDoesNotExist:
        raise Http404 from None
    interactions.complete_task(task)
    return _task_answer(request)


@login_required
@require_POST
def task_snooze(request, task_id: int):
    try:
        task = selectors.task_for(request.principal, task_id)
    except ObjectDoesNotExist:
        raise Http404 from None
    tomorrow = timezone.localtime() + dt.timedelta(days=1)
    until = tomorrow.replace(hour=SNOOZE_HOUR, minute=0, second=0, microsecond=0)
    try:
        task_services.snooze_task(request.principal, task, until=until)
    except DomainError:
        pass  # done or cancelled meanwhile: the list shows it as it is
    return _task_answer(request)


# --- a member's card ----------------------------------------------------------------------


def _card_context(request, member, *, note_form=None, saved=False) -> dict:
    principal = request.principal
    return {
        "section": "workbench",
        "nav_section": "guides",
        "member": member,
        "is_guide": _is_guide(principal),
        "interactions": selectors.recent_interactions(principal, member=member),
        "tasks": selectors.open_tasks(principal, member=member),
        "history": selectors.assignment_history(principal, member=member),
        "note_form": note_form or QuickNoteForm(),
        "saved": saved,
        "config": _config(request),
        "strings": _strings(),
    }


def _member(request, member_id: int):
    try:
        return member_for(request.principal, member_id)
    except ObjectDoesNotExist:
        raise Http404 from None


@login_required
@require_GET
@never_cache
def member_card(request, member_id: int):
    member = _member(request, member_id)
    return render(request, "guides/workbench/member.html", _card_context(request, member))


@login_required
@require_POST
def member_note(request, member_id: int):
    """The card's note / visit form without the script (the script queues it and syncs)."""
    member = _member(request, member_id)
    form = QuickNoteForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            interactions.record_interaction(
                request.principal,
                member=member,
                kind=data["kind"],
                outcome=data["outcome"],
                next_step=data["next_step"],
                note=data["note"],
                client_id=data["client_id"],
                source=InteractionSource.WORKBENCH,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(reverse("guides:member_card", kwargs={"member_id": member.pk}) + "?saved=1")
    return render(
        request, "guides/workbench/member.html", _card_context(request, member, note_form=form), status=422
    )


# --- offline ------------------------------------------------------------------------------


@login_required
@require_GET
@never_cache
def offline_snapshot(request):
    return JsonResponse(selectors.offline_snapshot(_guide(request)))


def _error(exc: DomainError) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": exc.code, "message": str(exc.message), "fields": exc.fields}}, status=exc.status
    )


@login_required
@require_POST
def offline_sync(request):
    principal = _guide(request)
    try:
        if len(request.body) > MAX_JSON_BYTES:
            raise DomainError("too_large", _("Too much at once: sync in smaller batches."), status=413)
        try:
            body = json.loads(request.body or b"[]")
        except (ValueError, UnicodeDecodeError):
            raise DomainError("invalid_json", _("The request is not valid JSON."), status=400) from None
        items = body.get("items") if isinstance(body, dict) else body
        results = offline.sync(principal, items)
    except DomainError as exc:
        return _error(exc)
    return JsonResponse({"results": results})


@login_required
@require_GET
def service_worker(request):
    """The workbench's service worker under /guides/ (its scope), told the page shell
    (hashed static names in production) and the snapshot's path."""
    _guide(request)
    shell = {
        "version": "workbench-v1",
        "page": reverse("guides:workbench"),
        "snapshot": reverse("guides:offline_snapshot"),
        "static": [static(name) for name in SHELL_STATIC],
    }
    response = serviceworker.worker_response(
        "WORKBENCH_SHELL", shell, "js/sw-common.js", "js/guides-workbench-sw.js"
    )
    response["Service-Worker-Allowed"] = reverse("guides:workbench")
    return response


urlpatterns = [
    path("", workbench, name="workbench"),
    path("workbench/tasks/", tasks_partial, name="workbench_tasks"),
    path("workbench/members/", members_partial, name="workbench_members"),
    path("workbench/numbers/", numbers_partial, name="workbench_numbers"),
    path("workbench/leaderboard/", leaderboard_partial, name="workbench_leaderboard"),
    path("workbench/tasks/<int:task_id>/done/", task_done, name="workbench_task_done"),
    path("workbench/tasks/<int:task_id>/snooze/", task_snooze, name="workbench_task_snooze"),
    path("members/<int:member_id>/", member_card, name="member_card"),
    path("members/<int:member_id>/note/", member_note, name="member_note"),
    path("offline/snapshot/", offline_snapshot, name="offline_snapshot"),
    path("offline/sync/", offline_sync, name="offline_sync"),
    path("sw.js", service_worker, name="workbench_sw"),
]
