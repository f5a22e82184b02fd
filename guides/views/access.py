"""Who may open the workbench's manager pages (plans, reassignment): store managers and HQ
of a brand. Anybody without a brand gets a 404, a guide a 403."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404

from ..services.assignments import may_reassign


def manager_principal(request):
    principal = request.principal
    if principal.brand_id is None and not principal.is_superuser:
        raise Http404
    if not may_reassign(principal):
        raise PermissionDenied
    return principal
