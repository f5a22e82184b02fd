"""Tag pages: tags on a member's page (add by name, remove; htmx, audited), the brand's tags
with their member counts, rule tags built with the segment builder, and their refresh."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods, require_POST

from retail.errors import DomainError

from .. import segment_forms
from .. import selectors as member_selectors
from ..selectors import segments as selectors
from ..services import segments as services
from .segments import (
    brand_id_of,
    builder_for,
    may_manage_segments,
    parse_rules,
    require_segment_manager,
    rule_lines,
    validate_posted,
)


def _member(request, member_id: int):
    return get_object_or_404(member_selectors.members_for_pages(principal=request.principal), pk=member_id)


def _tags_card(request, member, *, error: str = "", status: int = 200):
    return render(
        request,
        "members/_tags.html",
        {"member": member, "tags": selectors.tags_of(member=member), "tag_error": error},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def member_tags(request, member_id: int):
    """The member's tags card; POST adds a tag by name (created in the brand if new)."""
    member = _member(request, member_id)
    if request.method == "POST":
        try:
            services.tag_member(member=member, name=request.POST.get("name", ""))
        except DomainError as exc:
            return _tags_card(request, member, error=exc.message, status=400 if not request.htmx else 200)
        if not request.htmx:
            return redirect("members:member_detail", member_id=member.pk)
    return _tags_card(request, member)


@login_required
@require_POST
def member_tag_remove(request, member_id: int, tag_id: int):
    """Take one tag off the member (htmx re-renders the card)."""
    member = _member(request, member_id)
    tag = get_object_or_404(selectors.tags_for(principal=request.principal), pk=tag_id)
    services.untag_member(member=member, tag=tag)
    if not request.htmx:
        return redirect("members:member_detail", member_id=member.pk)
    return _tags_card(request, member)


@login_required
@require_http_methods(["GET", "POST"])
def tag_list(request):
    """The brand's tags with member counts; POST creates a rule tag from the builder."""
    brand_id = brand_id_of(request)
    form = segment_forms.TagForm(request.POST or None, initial={"match": "all"})
    rows, errors, status = [], [], 200
    if request.method == "POST":
        require_segment_manager(request)
        form.is_valid()
        rows, rules, _channel = parse_rules(request, request.POST)
        validated, errors = validate_posted(request, rows, rules)
        if validated is not None:
            try:
                tag = services.create_tag(
                    brand_id=brand_id, name=form.cleaned_data.get("name", ""), rule=validated
                )
            except DomainError as exc:
                errors, status = [exc.message], 400
            else:
                services.start_tag_refresh(tag=tag)
                return redirect("members:tag_detail", tag_id=tag.pk)
        else:
            status = 400
    return render(
        request,
        "members/segments/tags.html",
        {
            "tags": selectors.tags_with_counts(principal=request.principal),
            "form": form,
            "builder": builder_for(request, rows, errors),
            "may_manage": may_manage_segments(request.principal),
        },
        status=status,
    )


@login_required
def tag_detail(request, tag_id: int):
    """One tag: its rule (if any), how many members carry it, refresh."""
    tag = get_object_or_404(selectors.tags_for(principal=request.principal), pk=tag_id)
    members, _next = selectors.tagged_member_page(principal=request.principal, tag=tag)
    return render(
        request,
        "members/segments/tag_detail.html",
        {
            "tag": tag,
            "rule_lines": rule_lines(request, tag.rule) if tag.rule else [],
            "members": members,
            "count": selectors.tagged_count(principal=request.principal, tag=tag),
            "may_manage": may_manage_segments(request.principal),
        },
    )


@login_required
@require_POST
def tag_refresh(request, tag_id: int):
    """Re-apply a rule tag now (a background job)."""
    tag = get_object_or_404(selectors.tags_for(principal=request.principal), pk=tag_id)
    require_segment_manager(request)
    if tag.rule is not None:
        services.start_tag_refresh(tag=tag)
    return redirect("members:tag_detail", tag_id=tag.pk)


urlpatterns = [
    path("<int:member_id>/tags/", member_tags, name="member_tags"),
    path("<int:member_id>/tags/<int:tag_id>/remove/", member_tag_remove, name="member_tag_remove"),
    path("tags/", tag_list, name="tag_list"),
    path("tags/<int:tag_id>/", tag_detail, name="tag_detail"),
    path("tags/<int:tag_id>/refresh/", tag_refresh, name="tag_refresh"),
]
