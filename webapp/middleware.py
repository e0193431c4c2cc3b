"""Response middleware: the API's error shape on every 4xx under ``/api/``, and the
Content-Security-Policy header on every response."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from webapp.api.errors import HTTP_CODES, error_body

_MESSAGES = {404: "Not found.", 405: "Method not allowed."}


class ApiErrorShapeMiddleware:
    """Every 4xx under ``/api/`` has the API's error shape, even when Django or ninja answered
    before any API code ran (an unknown path, a method the path does not take)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            request.path.startswith("/api/")
            and 400 <= response.status_code < 500
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            status = response.status_code
            code = HTTP_CODES.get(status, "invalid_request")
            message = _MESSAGES.get(status, response.reason_phrase or "Invalid request.")
            shaped = JsonResponse(error_body(code, message), status=status,
                                  json_dumps_params={"separators": (", ", ": ")})
            if response.has_header("Allow"):
                shaped["Allow"] = response["Allow"]
            return shaped
        return response


class ContentSecurityPolicyMiddleware:
    """``Content-Security-Policy: LAB_CSP`` on every response that does not set its own.

    Django 5.2 has no CSP support of its own; the policy is one fixed string,
    so a middleware this small is all it takes.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.LAB_CSP

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if self.policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = self.policy
        return response
