"""Service workers served under a page's own path (their scope is that page): the coupon
counter, the guide workbench and the cloud-shelf kiosk each answer `GET .../sw.js` with
`self.<NAME> = {shell};` followed by the worker's scripts from static files (the shared
`js/sw-common.js` first where a worker uses it). Read through the finders in development,
from the collected files in production."""

from __future__ import annotations

import json
from typing import Any

from django.contrib.staticfiles import finders
from django.http import HttpResponse


def static_source(name: str) -> str:
    found = finders.find(name)
    if found:
        with open(found, "rb") as fh:
            return fh.read().decode()
    from django.contrib.staticfiles.storage import staticfiles_storage  # production: collected

    with staticfiles_storage.open(name) as fh:
        return fh.read().decode()


def worker_response(shell_name: str, shell: dict[str, Any], *scripts: str) -> HttpResponse:
    """The worker script: its shell (page, data paths, hashed static names) and its sources,
    never cached by the browser's HTTP cache (the worker's own update check decides)."""
    body = "\n".join(
        [f"self.{shell_name} = {json.dumps(shell)};", *(static_source(name) for name in scripts)]
    )
    response = HttpResponse(body, content_type="application/javascript")
    response["Cache-Control"] = "no-cache"
    return response
