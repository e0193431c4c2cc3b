"""Every API error is ``{"error": {"code", "message", "node", "field"}}``.

Request-shape problems (bad JSON, wrong types, missing fields) are 400
``invalid_request``, the same status as graph and config errors, so a client
needs one rule: 4xx means "fix your input", the code says what.
"""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from webapp.errors import LabError

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "invalid_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "invalid_state",
    413: "too_large",
    429: "quota_exceeded",
}


def error_body(code: str, message: str, *, node: str | None = None, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "node": node, "field": field}}


def _validation_message(errors: list) -> tuple[str, str | None]:
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "payload")]
    field = ".".join(loc) or None
    msg = first.get("msg", "invalid value")
    return (f"{field}: {msg}" if field else msg), field


def install_error_handlers(api: NinjaAPI) -> None:
    def respond(request: HttpRequest, status: int, body: dict) -> HttpResponse:
        return api.create_response(request, body, status=status)

    @api.exception_handler(LabError)
    def lab_error(request: HttpRequest, exc: LabError) -> HttpResponse:
        response = respond(request, exc.status, {"error": exc.as_dict()})
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            response["Retry-After"] = str(retry_after)
        return response

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        message, field = _validation_message(exc.errors)
        return respond(request, 400, error_body("invalid_request", message, field=field))

    @api.exception_handler(AuthenticationError)
    def auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, 401, error_body("not_authenticated", "Sign in or send an API token."))

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja wraps whatever the body parser raised as "Cannot parse request body":
        # say what was wrong with it instead.
        cause = exc.__cause__
        if isinstance(cause, LabError):
            return lab_error(request, cause)
        if isinstance(cause, RecursionError):
            return respond(request, 400, error_body("invalid_request", "The request body is nested too deeply."))
        if isinstance(cause, ValueError) and exc.status_code == 400:
            return respond(request, 400, error_body("invalid_request", f"The request body is not valid JSON: {cause}"))
        code = HTTP_CODES.get(exc.status_code, "invalid_request" if exc.status_code < 500 else "server_error")
        return respond(request, exc.status_code, error_body(code, str(exc)))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, error_body("not_found", "Not found."))

    @api.exception_handler(RequestDataTooBig)
    def too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
        return respond(request, 413, error_body("too_large", "The request body is too large."))

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return respond(request, 400, error_body("invalid_request", "The request could not be read."))
