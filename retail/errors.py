"""Domain errors: services raise them with a stable code; the API maps them to 4xx."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refused use case. `status` is the HTTP status the API answers with."""

    status = 422
    code = "refused"

    def __init__(
        self,
        code: str | None = None,
        message: str = "",
        *,
        fields: dict[str, Any] | None = None,
        status: int | None = None,
    ):
        self.code = code or self.code
        self.message = message or self.code.replace("_", " ")
        self.fields = fields or {}
        if status is not None:
            self.status = status
        super().__init__(self.message)


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class InvalidInput(DomainError):
    status = 400
    code = "invalid"
