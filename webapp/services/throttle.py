"""A rate limit shared by every process: one Redis key per subject, expiring after the interval."""

from __future__ import annotations

import logging
from functools import lru_cache

import redis
from django.conf import settings

log = logging.getLogger(__name__)

PREFIX = "lab:throttle:"


@lru_cache(maxsize=1)
def redis_client() -> redis.Redis:
    """A client of the Redis the channel layer and broker use (embedded socket or ``REDIS_URL``)."""
    return redis.Redis.from_url(settings.CHANNEL_REDIS_HOST, socket_timeout=2, socket_connect_timeout=2)


def throttle_allow(*, key: str, interval: float) -> bool:
    """True at most once per ``interval`` seconds per ``key`` across all processes."""
    if interval <= 0:
        return True
    try:
        return bool(redis_client().set(PREFIX + key, 1, px=max(1, int(interval * 1000)), nx=True))
    except (redis.RedisError, OSError):
        log.debug("throttle check failed; dropping the update", exc_info=True)
        return False
