"""Rate limits shared by every process, kept in Redis.

Two kinds:

- ``throttle_allow``: at most one event per interval per key (live progress pushes);
- fixed-window counters for sign-in and sign-up (``login_*``, ``signup_*``): a
  key per account or client counts failures (or accounts created) and expires
  with its window; at the limit the subject is refused until the window ends.

If Redis cannot be reached the limits are not enforced (and a warning is
logged): an outage of Redis must not lock everybody out of the site.
"""

from __future__ import annotations

import hashlib
import logging
import math
from functools import lru_cache

import redis
from django.conf import settings
from django.http import HttpRequest

from webapp.errors import LabError

log = logging.getLogger(__name__)

PREFIX = "lab:throttle:"


class Throttled(LabError):
    """Too many attempts; ``retry_after`` seconds until the next one is accepted."""

    status = 429
    code = "throttled"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


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


# --- counters -------------------------------------------------------------------


def _key(kind: str, subject: str) -> str:
    # Hashed: a username or address never appears in Redis, and any length fits.
    digest = hashlib.sha256(subject.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{PREFIX}{kind}:{digest}"


def _wait(kind: str, subject: str, limit: int) -> int:
    """Seconds until ``subject`` may try again (0: now)."""
    try:
        pipe = redis_client().pipeline()
        pipe.get(_key(kind, subject))
        pipe.ttl(_key(kind, subject))
        count, ttl = pipe.execute()
    except (redis.RedisError, OSError):
        log.warning("Redis unreachable: %s limit not checked", kind)
        return 0
    if count is None or int(count) < limit:
        return 0
    return max(1, int(ttl))


def _count(kind: str, subject: str, window: float) -> None:
    key = _key(kind, subject)
    try:
        client = redis_client()
        pipe = client.pipeline()
        pipe.incr(key)
        pipe.ttl(key)
        _count_now, ttl = pipe.execute()
        if ttl < 0:  # the first count of a window (EXPIRE ... NX needs Redis 7; the embedded one is 6)
            client.expire(key, max(1, math.ceil(window)))
    except (redis.RedisError, OSError):
        log.warning("Redis unreachable: %s not counted", kind)


def _forget(kind: str, subject: str) -> None:
    try:
        redis_client().delete(_key(kind, subject))
    except (redis.RedisError, OSError):
        log.warning("Redis unreachable: %s not reset", kind)


def _minutes(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def client_address(request: HttpRequest | None) -> str:
    """The client's address: ``REMOTE_ADDR``, or behind ``LAB_PROXY_HOPS`` proxies the
    address the outermost of them saw, from ``X-Forwarded-For``."""
    if request is None:
        return "unknown"
    hops = settings.LAB_PROXY_HOPS
    if hops:
        forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
        if len(forwarded) >= hops:
            return forwarded[-hops][:100]
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:100]


def _account(username: object) -> str:
    return str(username or "").strip().lower()[:300]


def login_check(*, username: object, client: str) -> None:
    """Raise ``Throttled`` when the account or the client has too many recent failed sign-ins."""
    wait = _wait("login-account", _account(username), settings.LAB_LOGIN_FAILURES_PER_ACCOUNT)
    if wait:
        raise Throttled(f"Too many failed sign-ins for this account. Try again in {_minutes(wait)}.",
                        retry_after=wait)
    wait = _wait("login-client", client, settings.LAB_LOGIN_FAILURES_PER_CLIENT)
    if wait:
        raise Throttled(f"Too many failed sign-ins from your address. Try again in {_minutes(wait)}.",
                        retry_after=wait)


def login_record(*, username: object, client: str, success: bool) -> None:
    """Count a failed sign-in against the account and the client; a success clears the account's count."""
    if success:
        _forget("login-account", _account(username))
        return
    _count("login-account", _account(username), settings.LAB_LOGIN_WINDOW)
    _count("login-client", client, settings.LAB_LOGIN_WINDOW)


def signup_check(*, client: str) -> None:
    """Raise ``Throttled`` when the client created its limit of accounts in the window."""
    wait = _wait("signup-client", client, settings.LAB_SIGNUPS_PER_CLIENT)
    if wait:
        raise Throttled(f"Too many accounts were created from your address. Try again in {_minutes(wait)}.",
                        retry_after=wait)


def signup_record(*, client: str) -> None:
    _count("signup-client", client, settings.LAB_SIGNUP_WINDOW)
