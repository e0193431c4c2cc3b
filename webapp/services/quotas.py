"""Per-user quotas, checked while the user's quota row is locked.

Locking one row per user serialises a user's concurrent creates and advances,
so two requests can never both see room for one more.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from webapp.errors import QuotaExceeded
from webapp.models import Candidate, Search, UserQuota
from webapp.models.candidates import IN_FLIGHT_STATUSES
from webapp.models.searches import ACTIVE_SEARCH_STATUSES


def quota_lock(*, user_id: int) -> UserQuota:
    """Lock and return the user's quota row (created on first use). Call inside a transaction."""
    assert transaction.get_connection().in_atomic_block, "quota_lock needs a transaction"
    UserQuota.objects.get_or_create(user_id=user_id)
    return UserQuota.objects.select_for_update().get(user_id=user_id)


def quota_limits(*, quota: UserQuota) -> tuple[int, int]:
    searches = quota.max_searches if quota.max_searches is not None else settings.LAB_QUOTA_SEARCHES
    in_flight = quota.max_in_flight if quota.max_in_flight is not None else settings.LAB_QUOTA_IN_FLIGHT
    return searches, in_flight


def quota_check_new_search(*, quota: UserQuota) -> None:
    """Raise ``QuotaExceeded`` when the user already runs their maximum of searches."""
    limit, _ = quota_limits(quota=quota)
    active = Search.objects.filter(owner_id=quota.user_id, status__in=ACTIVE_SEARCH_STATUSES).count()
    if active >= limit:
        raise QuotaExceeded(
            f"You already have {active} active searches (the limit is {limit}); "
            "stop or wait for one to finish first."
        )


def quota_in_flight_room(*, quota: UserQuota) -> int:
    """How many more candidates the user may have queued or running, across all searches."""
    _, limit = quota_limits(quota=quota)
    in_flight = Candidate.objects.filter(search__owner_id=quota.user_id, status__in=IN_FLIGHT_STATUSES,
                                         search__status__in=ACTIVE_SEARCH_STATUSES).count()
    return max(0, limit - in_flight)
