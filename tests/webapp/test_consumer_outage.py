"""Issue 11, item 6: while Redis is down the search stream closes cleanly with 4503 ("try again later").

A Redis of the test's own (embedded, on a scratch socket) serves as the
channel layer, so it can be stopped; the consumer is the real one behind the
full ASGI application.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from tests.webapp.helpers import make_search
from webapp.asgi import application
from webapp.consumers import CLOSE_TRY_AGAIN
from webapp.runtime.redis import ensure_embedded_redis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio,
              pytest.mark.subprocess]  # a private Redis server


@pytest_asyncio.fixture(autouse=True)
async def close_thread_connections():
    """The database connection sync_to_async's worker thread opened must not outlive the test."""
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def scratch_redis(tmp_path_factory, settings):
    sock = Path(tmp_path_factory.mktemp("r")) / "r.sock"
    server = ensure_embedded_redis(sock)
    layers = {"default": {**settings.CHANNEL_LAYERS["default"]}}
    layers["default"]["CONFIG"] = {**layers["default"]["CONFIG"],
                                   "hosts": [{"address": f"unix://{sock}", "socket_timeout": 15}]}
    settings.CHANNEL_LAYERS = layers
    yield server
    server.stop()


async def _open(user, search_id: int) -> WebsocketCommunicator:
    client = Client()
    await sync_to_async(client.force_login)(user)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    return WebsocketCommunicator(application, f"/ws/searches/{search_id}/?after=0",
                                 headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"),
                                          (b"cookie", cookie)])


async def test_a_handshake_while_redis_is_down_is_closed_to_try_again(user, scratch_redis) -> None:
    search = await sync_to_async(make_search)(user)
    scratch_redis.stop()
    comm = await _open(user, search.pk)
    connected, _ = await comm.connect(timeout=20)
    assert connected  # accepted, then closed: the browser sees a close code, not a failed handshake
    message = await comm.receive_output(timeout=20)
    while message["type"] == "websocket.send":  # any stored event sent before the layer failed
        message = await comm.receive_output(timeout=20)
    assert message == {"type": "websocket.close", "code": CLOSE_TRY_AGAIN}
    await comm.wait(timeout=5)


async def test_an_open_socket_is_closed_to_try_again_when_redis_goes_away(user, scratch_redis) -> None:
    search = await sync_to_async(make_search)(user)
    comm = await _open(user, search.pk)
    connected, _ = await comm.connect(timeout=20)
    assert connected
    first = await comm.receive_json_from(timeout=10)
    assert first["seq"] == 1
    assert get_channel_layer() is not None
    scratch_redis.stop()
    message = await comm.receive_output(timeout=30)
    while message["type"] == "websocket.send":
        message = await comm.receive_output(timeout=30)
    assert message == {"type": "websocket.close", "code": CLOSE_TRY_AGAIN}
    await comm.wait(timeout=5)
