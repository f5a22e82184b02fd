"""The workbench settings page (included at /guides/settings/, HQ only): attribution window,
quiet hours, frequency cap and window, providers, the name members see. Audited through
guides.services.settings."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from retail.errors import DomainError
from retail.forms import add_domain_errors

from ..forms.settings import GuideSettingsForm
from ..services import settings as services
from ..services.common import settings_for


@login_required
@require_http_methods(["GET", "POST"])
def settings_page(request):
    principal = request.principal
    if principal.brand_id is None or not services.may_edit(principal):
        raise Http404
    current = settings_for(principal.brand_id)
    form = GuideSettingsForm(request.POST or None, instance=current)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_settings(principal, **form.values())
        except DomainError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, _("Workbench settings saved."))
            return redirect("guides:settings")
    return render(
        request,
        "guides/settings/page.html",
        {"nav_section": "guides", "form": form},
        status=400 if request.method == "POST" else 200,
    )


urlpatterns = [path("", settings_page, name="settings")]
