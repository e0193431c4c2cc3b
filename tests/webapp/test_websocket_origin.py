"""Issue 11, item 5: the websocket's Origin must match the site's scheme, host and port (or a trusted origin).

The full ASGI application with a real session; only the handshake is looked at.
"""

from __future__ import annotations

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import channel_layers
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from tests.webapp.helpers import make_search
from webapp.asgi import application
from webapp.websocket_origin import origin_allowed, origin_key

pytestmark = [pytest.mark.django_db(transaction=True)]

@pytest.fixture(autouse=True)
def fresh_channel_layer():
    """A channel layer of this test's own: channels_redis's receive lock belongs to
    the event loop that first took it, and a consumer of an earlier test (another
    loop) may still hold it ("Lock ... is bound to a different event loop")."""
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest_asyncio.fixture(autouse=True)
async def close_thread_connections():
    """The database connection sync_to_async's worker thread opened must not outlive the test."""
    yield
    await sync_to_async(connections.close_all)()


LAB = "127.0.0.1:8000"


@pytest.mark.parametrize(("origin", "allowed"), [
    ("http://127.0.0.1:8000", True),
    ("HTTP://127.0.0.1:8000/", True),
    ("http://127.0.0.1:9999", False),     # another program on the machine
    ("https://127.0.0.1:8000", False),    # the https twin of a plain-HTTP lab
    ("http://127.0.0.1", False),          # port 80
    ("http://localhost:8000", False),     # same machine, another name: another origin
    ("http://evil.example:8000", False),
    ("null", False), ("", False), (None, False), ("file://", False), ("http://127.0.0.1:8000/path", False),
    ("http://127.0.0.1:99999", False),
])
def test_origin_matrix_on_plain_http(origin, allowed, settings) -> None:
    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    assert origin_allowed(origin=origin, host=LAB, secure=False) is allowed


def test_behind_an_https_proxy_the_own_origin_is_https_and_trusted_origins_count(settings) -> None:
    settings.ALLOWED_HOSTS = ["lab.example.org"]
    settings.CSRF_TRUSTED_ORIGINS = ["https://lab.example.org", "https://mirror.example.org:8443"]
    assert origin_allowed(origin="https://lab.example.org", host="lab.example.org", secure=True)
    assert origin_allowed(origin="https://lab.example.org:443", host="lab.example.org", secure=True)
    assert not origin_allowed(origin="http://lab.example.org", host="lab.example.org", secure=True)
    assert origin_allowed(origin="https://mirror.example.org:8443", host="lab.example.org", secure=True)
    assert not origin_allowed(origin="https://mirror.example.org", host="lab.example.org", secure=True)
    # A Host outside ALLOWED_HOSTS is refused whatever the Origin says.
    assert not origin_allowed(origin="https://evil.example", host="evil.example", secure=True)


def test_origin_key_makes_default_ports_explicit() -> None:
    assert origin_key("https://a.example") == ("https", "a.example", 443)
    assert origin_key("http://a.example:80") == ("http", "a.example", 80)


async def _handshake(search_id: int, cookie: bytes, *, origin: bytes, host: bytes = b"127.0.0.1:8000",
                     proto: bytes | None = None) -> bool:
    headers = [(b"host", host), (b"origin", origin), (b"cookie", cookie)]
    if proto is not None:
        headers.append((b"x-forwarded-proto", proto))
    comm = WebsocketCommunicator(application, f"/ws/searches/{search_id}/", headers=headers)
    connected, _ = await comm.connect()
    await comm.disconnect()
    return connected


@pytest.mark.asyncio
async def test_the_handshake_applies_the_matrix(user, settings) -> None:
    from asgiref.sync import sync_to_async

    settings.ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
    search = await sync_to_async(make_search)(user)
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    assert await _handshake(search.pk, cookie, origin=b"http://127.0.0.1:8000")
    assert not await _handshake(search.pk, cookie, origin=b"http://localhost:9999")
    assert not await _handshake(search.pk, cookie, origin=b"https://127.0.0.1:8000")
    # Behind a proxy that says the client used HTTPS, only the https origin is the site's own.
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert await _handshake(search.pk, cookie, origin=b"https://127.0.0.1:8000", proto=b"https")
    assert not await _handshake(search.pk, cookie, origin=b"http://127.0.0.1:8000", proto=b"https")
