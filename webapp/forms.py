"""Sign-in forms that say so when sign-ins are throttled (see ``webapp.auth_backends``)."""

from __future__ import annotations

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError


class _ThrottleMessage:
    """Replace "wrong username or password" with the throttle's message when that was the reason."""

    request = None

    def clean(self) -> dict:
        try:
            return super().clean()
        except ValidationError:
            throttled = getattr(self.request, "lab_throttled", None)
            if throttled is not None:
                raise ValidationError(throttled.message, code="throttled") from None
            raise

    @property
    def throttled(self) -> bool:
        return getattr(self.request, "lab_throttled", None) is not None


class ThrottledAuthenticationForm(_ThrottleMessage, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(_ThrottleMessage, AdminAuthenticationForm):
    pass
