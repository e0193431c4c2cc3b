"""The one authentication backend: Django's, with sign-in failures counted and limited.

Every path that checks a password (the sign-in form, the admin's, the token
endpoint) calls ``django.contrib.auth.authenticate``, so the limit cannot be
walked around. A throttled attempt is refused before the password is hashed
(hashing is what makes a flood of guesses expensive), and the reason is left
on the request for the form or API to show.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from webapp.services.throttle import Throttled, client_address, login_check, login_record


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: object) -> AbstractBaseUser | None:
        client = client_address(request)
        try:
            login_check(username=username, client=client)
        except Throttled as exc:
            if request is not None:
                request.lab_throttled = exc
            raise PermissionDenied(str(exc)) from exc  # stops authenticate() here
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if password is not None:
            login_record(username=username, client=client, success=user is not None)
        return user
