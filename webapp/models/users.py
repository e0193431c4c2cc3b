"""Per-user row that quota checks lock, so concurrent requests cannot overshoot."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class UserQuota(models.Model):
    """Locked (``select_for_update``) before counting a user's searches or in-flight work.

    The limits default to the ``LAB_QUOTA_*`` settings; a non-null column here
    overrides them for one user (set in the admin).
    """

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lab_quota")
    max_searches = models.PositiveIntegerField(null=True, blank=True)
    max_in_flight = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"quota of {self.user}"
