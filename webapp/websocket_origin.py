"""Which pages may open the lab's websockets: only the lab's own origin and ``LAB_CSRF_TRUSTED_ORIGINS``.

channels' ``AllowedHostsOriginValidator`` compares host names only, so a page
on ``http://localhost:9999`` (any program on the machine) or the ``https``
twin of a plain-HTTP lab was allowed to read every event. Here scheme, host
and port must all match: the site's own origin is the scheme the client used
(``wss``, or ``https`` per the proxy's ``SECURE_PROXY_SSL_HEADER``) with the
request's ``Host`` (which must be in ``ALLOWED_HOSTS``). A refused handshake
is answered 403 before any application code runs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from asgiref.typing import ASGI3Application, ASGIReceiveCallable, ASGISendCallable, Scope
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_key(origin: str) -> tuple[str, str, int] | None:
    """``(scheme, host, port)`` of an origin, the port made explicit; None if it is not an http(s) origin."""
    try:
        parts = urlsplit(origin.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/") or parts.query:
        return None
    return scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme]


def origin_allowed(*, origin: str | None, host: str, secure: bool) -> bool:
    """Whether a websocket handshake with ``Origin: origin`` and ``Host: host`` may proceed."""
    if not origin:
        return False
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    asked = origin_key(origin)
    if asked is None:
        return False
    own = origin_key(f"{'https' if secure else 'http'}://{host}")
    trusted = {origin_key(o) for o in settings.CSRF_TRUSTED_ORIGINS}
    return asked == own or asked in trusted


def _secure(scope: dict, headers: dict[bytes, bytes]) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy_header = settings.SECURE_PROXY_SSL_HEADER
    if proxy_header:
        name, value = proxy_header
        wanted = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin-1")
        return headers.get(wanted, b"").decode("latin-1").split(",")[0].strip() == value
    return False


class SameOriginValidator:
    """ASGI middleware for websockets: deny a handshake whose Origin is not the site's own (or trusted)."""

    def __init__(self, application: ASGI3Application) -> None:
        self.application = application

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        origin = headers.get(b"origin", b"").decode("latin-1")
        host = headers.get(b"host", b"").decode("latin-1")
        if origin_allowed(origin=origin, host=host, secure=_secure(scope, headers)):
            return await self.application(scope, receive, send)
        return await WebsocketDenier()(scope, receive, send)
