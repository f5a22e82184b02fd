"""Segment pages: the builder with a live count and preview (htmx), the list, a segment's page
with its materialisation progress and members (keyset), materialise now, CSV export.

Thin: rules come from members.segment_forms, are validated by members.rules, read through
members.selectors.segments (scoped by principal, consent re-checked) and written through
members.services.segments."""

from __future__ import annotations

import csv

from asgiref.sync import sync_to_async
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from retail.choices import Role
from retail.errors import DomainError

from .. import rules as rule_language
from .. import segment_forms
from ..choices import JobStatus
from ..models import Segment
from ..selectors import segments as selectors
from ..services import segments as services

PER_PAGE = 50
EXPORT_BATCH = 2000


def brand_id_of(request) -> int:
    brand_id = request.principal.brand_id
    if brand_id is None:  # a superuser acting for no brand has no segments to build
        raise Http404
    return brand_id


def may_manage_segments(principal) -> bool:
    """Segments and rule tags are brand-wide audiences: HQ and store managers define them;
    guides (and anyone else) may look, not change them."""
    return principal.is_superuser or principal.role in (Role.HQ_ADMIN, Role.STORE_MANAGER)


def require_segment_manager(request) -> None:
    if not may_manage_segments(request.principal):
        raise PermissionDenied


def _segments(request):
    return selectors.segments_for(principal=request.principal)


def parse_rules(request, data) -> tuple[list[segment_forms.Row], dict, str]:
    rows = segment_forms.rows_from_post(data)
    rules = segment_forms.rows_to_rules(rows, str(data.get("match", "all")))
    channel = str(data.get("channel", ""))
    return rows, rules, channel


def validate_posted(request, rows, rules) -> tuple[dict | None, list[str]]:
    """The validated rules, or None and the general problems (row problems go on the rows)."""
    try:
        return rule_language.validate_rules(rules, brand_id=brand_id_of(request)), []
    except rule_language.RuleError as exc:
        return None, segment_forms.attach_errors(rows, exc)


def builder_for(request, rows, general_errors=()) -> segment_forms.Builder:
    return segment_forms.Builder(
        rows=rows, choices=segment_forms.choices_for(request.principal), general_errors=list(general_errors)
    )


def _builder_page(request, *, segment=None, form=None, rows=None, errors=(), status=200):
    if form is None:
        initial = {"match": "all", "channel": ""}
        if segment is not None:
            initial = {
                "name": segment.name,
                "channel": segment.channel,
                "match": segment.rules.get("match", "all"),
            }
        form = segment_forms.SegmentForm(initial=initial)
    if rows is None:
        rows = segment_forms.rows_from_rules(segment.rules) if segment else []
    return render(
        request,
        "members/segments/builder.html",
        {
            "segment": segment,
            "form": form,
            "builder": builder_for(request, rows, errors),
            "may_manage": may_manage_segments(request.principal),
        },
        status=status,
    )


@login_required
def segment_list(request):
    """The brand's segments with their size and status."""
    brand_id_of(request)
    context = {
        "segments": list(_segments(request)[:200]),
        "may_manage": may_manage_segments(request.principal),
    }
    return render(request, "members/segments/list.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def segment_new(request):
    """The builder; POST saves the segment and starts materialising it."""
    return _save(request, segment=None)


@login_required
@require_http_methods(["GET", "POST"])
def segment_edit(request, segment_id: int):
    segment = get_object_or_404(_segments(request), pk=segment_id)
    return _save(request, segment=segment)


def _save(request, *, segment):
    brand_id = brand_id_of(request)
    if request.method == "GET":
        return _builder_page(request, segment=segment)
    require_segment_manager(request)
    form = segment_forms.SegmentForm(request.POST)
    form.is_valid()
    rows, rules, channel = parse_rules(request, request.POST)
    validated, general = validate_posted(request, rows, rules)
    if validated is None:
        return _builder_page(request, segment=segment, form=form, rows=rows, errors=general, status=400)
    try:
        saved = services.save_segment(
            brand_id=brand_id,
            name=form.cleaned_data.get("name", ""),
            rules=validated,
            channel=form.cleaned_data.get("channel", ""),
            created_by=request.user,
            segment=segment,
        )
    except DomainError as exc:
        for name, messages in exc.fields.items():
            if name in form.fields:
                for message in messages:
                    form.add_error(name, message)
        errors = [exc.message] if not any(n in form.fields for n in exc.fields) else []
        return _builder_page(request, segment=segment, form=form, rows=rows, errors=errors, status=400)
    return redirect("members:segment_detail", segment_id=saved.pk)


@login_required
@require_POST
def segment_conditions(request):
    """The condition rows again after "add" / "remove" / a field change (htmx); tells the
    page to recount, since a re-rendered row may now mean something else."""
    brand_id_of(request)
    rows = segment_forms.edit_rows(segment_forms.rows_from_post(request.POST), request.POST)
    response = render(request, "members/segments/_conditions.html", {"builder": builder_for(request, rows)})
    response["HX-Trigger"] = "rules-changed"
    return response


@login_required
@require_POST
def segment_count(request):
    """The live count of visible members matching the posted rules (htmx)."""
    rows, rules, channel = parse_rules(request, request.POST)
    validated, general = validate_posted(request, rows, rules)
    context = {"count": None, "problems": general + [e for r in rows for e in r.errors], "rules": rules}
    if validated is not None and channel in ("", "call", "sms", "chat"):
        context["count"] = selectors.count_matching(
            principal=request.principal, rules=validated, channel=channel
        )
        context["conditions"] = len(validated["conditions"])
    return render(request, "members/segments/_count.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def segment_preview(request):
    """The first page of matching members (keyset, one query), for the builder (htmx)."""
    data = request.POST if request.method == "POST" else request.GET
    rows, rules, channel = parse_rules(request, data)
    validated, general = validate_posted(request, rows, rules)
    members, next_after = [], None
    if validated is not None and channel in ("", "call", "sms", "chat"):
        try:
            after = int(data.get("after") or 0) or None
        except ValueError:
            after = None
        members, next_after = selectors.preview_matching(
            principal=request.principal, rules=validated, channel=channel, after=after
        )
    return render(
        request,
        "members/segments/_preview.html",
        {"members": members, "next_after": next_after, "invalid": validated is None},
    )


@login_required
def segment_detail(request, segment_id: int):
    """A segment: its rules, materialisation progress, members a keyset page at a time."""
    segment = get_object_or_404(_segments(request), pk=segment_id)
    try:
        after = int(request.GET.get("after") or 0) or None
    except ValueError:
        after = None
    members, next_after = selectors.segment_member_page(
        principal=request.principal, segment=segment, after=after, limit=PER_PAGE
    )
    context = {
        "segment": segment,
        "rule_lines": rule_lines(request, segment.rules),
        "members": members,
        "next_after": next_after,
        "is_continued": bool(after),
        "may_manage": may_manage_segments(request.principal),
        **_status_context(segment),
    }
    if request.htmx and request.htmx.target == "segment-members":
        return render(request, "members/segments/_members.html", context)
    return render(request, "members/segments/detail.html", context)


def rule_lines(request, rules: dict) -> list[str]:
    """The rules in words, ids shown by name."""
    choices = segment_forms.choices_for(request.principal)
    return rule_language.describe(rules, {field: dict(pairs) for field, pairs in choices.items()})


def _status_context(segment: Segment) -> dict:
    running = segment.status in (JobStatus.PENDING, JobStatus.RUNNING)
    return {
        "running": running,
        "percent": services.materialise_progress(segment=segment),
        "poll_url": reverse("members:segment_status", kwargs={"segment_id": segment.pk}),
    }


@never_cache
@login_required
@require_GET
def segment_status(request, segment_id: int):
    """The progress block, polled every second while materialising (htmx)."""
    segment = get_object_or_404(_segments(request), pk=segment_id)
    context = {"segment": segment, **_status_context(segment)}
    response = render(request, "members/segments/_status.html", context)
    if not context["running"]:
        response["HX-Trigger"] = "segment-done"
    return response


@login_required
@require_POST
def segment_materialise(request, segment_id: int):
    """Materialise now: rebuild the members from the rules in the background."""
    segment = get_object_or_404(_segments(request), pk=segment_id)
    require_segment_manager(request)
    services.start_materialisation(segment=segment)
    if request.htmx:
        segment.refresh_from_db()
        context = {"segment": segment, **_status_context(segment)}
        response = render(request, "members/segments/_status.html", context)
        if not context["running"]:  # finished already (a small segment, or inline jobs)
            response["HX-Trigger"] = "segment-done"
        return response
    return redirect("members:segment_detail", segment_id=segment.pk)


class _Echo:
    def write(self, value):
        return value


def _export_batches(principal, segment):
    """(CSV text of one batch, id to continue after) pairs: masked identity only."""
    writer = csv.writer(_Echo())

    def batch(after: int | None) -> tuple[str, int | None]:
        rows, after = selectors.segment_member_page(
            principal=principal, segment=segment, after=after, limit=EXPORT_BATCH
        )
        text = "".join(
            writer.writerow(
                [
                    m.member_no,
                    m.name_masked,
                    m.phone_masked,
                    m.store.code if m.store else "",
                    m.tier.name if m.tier else "",
                    m.points_balance,
                    timezone.localtime(m.joined_at).strftime("%Y-%m-%d"),
                ]
            )
            for m in rows
        )
        return text, after

    header = "\ufeff" + writer.writerow(
        [_("Member number"), _("Name"), _("Phone"), _("Store"), _("Tier"), _("Points"), _("Joined")]
    )
    return header, batch


@never_cache
@login_required
@require_GET
def segment_export(request, segment_id: int):
    """The segment's visible members as CSV, streamed a batch at a time (keyset) so memory
    stays flat: masked phone and name only, never clear PII. Consent is re-checked as for
    the page. Audited."""
    segment = get_object_or_404(_segments(request), pk=segment_id)
    services.record_segment_export(segment=segment)
    header, batch = _export_batches(request.principal, segment)

    def lines():
        yield header
        text, after = batch(None)
        yield text
        while after is not None:
            text, after = batch(after)
            yield text

    async def alines():
        # under ASGI a sync iterator would be read whole into memory first; this one
        # fetches each batch in the sync thread and hands it on at once
        yield header
        text, after = await sync_to_async(batch)(None)
        yield text
        while after is not None:
            text, after = await sync_to_async(batch)(after)
            yield text

    is_asgi = hasattr(request, "scope")
    response = StreamingHttpResponse(alines() if is_asgi else lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.csv"'
    return response


urlpatterns = [
    path("", segment_list, name="segment_list"),
    path("new/", segment_new, name="segment_new"),
    path("conditions/", segment_conditions, name="segment_conditions"),
    path("count/", segment_count, name="segment_count"),
    path("preview/", segment_preview, name="segment_preview"),
    path("<int:segment_id>/", segment_detail, name="segment_detail"),
    path("<int:segment_id>/edit/", segment_edit, name="segment_edit"),
    path("<int:segment_id>/status/", segment_status, name="segment_status"),
    path("<int:segment_id>/materialise/", segment_materialise, name="segment_materialise"),
    path("<int:segment_id>/export.csv", segment_export, name="segment_export"),
]
