"""Errors the services raise for a client's mistake; the API turns them into 4xx bodies.

Each carries the ``code`` the client sees in ``{"error": {"code", "message",
"node", "field"}}``; ``status`` is the HTTP status it maps to.
"""

from __future__ import annotations

from typing import Any


class LabError(Exception):
    status = 400
    code = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, node: str | None = None,
                 field: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.node = node
        self.field = field

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "node": self.node, "field": self.field}


class InvalidInput(LabError):
    status = 400
    code = "invalid_request"


class NotFound(LabError):
    status = 404
    code = "not_found"

    def __init__(self, message: str = "Not found.", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)


class InvalidState(LabError):
    status = 409
    code = "invalid_state"


class QuotaExceeded(LabError):
    status = 429
    code = "quota_exceeded"
