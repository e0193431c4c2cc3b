"""API authentication: a bearer token for scripts, the session cookie for the browser."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from webapp.services.tokens import token_authenticate


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer lab_...``; no CSRF check (no ambient credential)."""

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        user = token_authenticate(secret=token)
        if user is not None:
            request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The browser's session; unsafe methods also need the CSRF token.

    Unlike ninja's ``django_auth``, a request without a session is a plain
    401, not a CSRF failure.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> AbstractBaseUser | None:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if self.csrf and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed: send the csrftoken cookie's value as X-CSRFToken.")
        return user


AUTH = [BearerTokenAuth(), SessionAuth(csrf=True)]
