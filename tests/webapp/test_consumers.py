"""The search event websocket against the real channel layer (Redis) and a real database."""

from __future__ import annotations

import asyncio

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from tests.webapp.helpers import make_search, queued_ids, run_one
from webapp.asgi import application
from webapp.models import Event
from webapp.services import events as events_svc
from webapp.services.candidates import candidate_progress, candidate_start

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

ORIGIN = (b"origin", b"http://localhost")
HOST = (b"host", b"localhost")  # a browser always sends it; the origin check compares against it


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()



@pytest_asyncio.fixture(autouse=True)
async def close_thread_connections():
    """The database connection sync_to_async's worker thread opened must not outlive the test."""
    yield
    await sync_to_async(connections.close_all)()

@pytest.fixture
def cookie(user) -> bytes:
    return session_cookie(user)


@pytest.fixture
def other_cookie(other_user) -> bytes:
    return session_cookie(other_user)


@pytest.fixture
def search(user):
    return make_search(user, parallel=2)


def communicator(search_id: int, *, cookie: bytes | None = None, after: int | None = None,
                 origin=ORIGIN) -> WebsocketCommunicator:
    headers = [HOST, origin] if origin else [HOST]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    path = f"/ws/searches/{search_id}/" + (f"?after={after}" if after is not None else "")
    return WebsocketCommunicator(application, path, headers=headers)


async def receive_events(comm: WebsocketCommunicator, n: int, timeout: float = 5) -> list[dict]:
    return [await comm.receive_json_from(timeout=timeout) for _ in range(n)]


async def stored_seqs(search) -> list[int]:
    return await sync_to_async(lambda: list(
        Event.objects.filter(search=search).order_by("seq").values_list("seq", flat=True)))()


async def test_replay_then_live_in_order(cookie, search):
    stored = await stored_seqs(search)
    comm = communicator(search.pk, cookie=cookie)
    connected, _ = await comm.connect()
    assert connected
    replay = await receive_events(comm, len(stored))
    assert [e["seq"] for e in replay] == stored
    assert replay[0]["type"] == "search.status" and set(replay[0]) == {"seq", "type", "payload", "created_at"}
    first = (await sync_to_async(queued_ids)(search))[0]
    await sync_to_async(run_one)(first)
    now_stored = await stored_seqs(search)
    live = await receive_events(comm, len(now_stored) - len(stored))
    assert [e["seq"] for e in live] == now_stored[len(stored):]  # every new event once, in order
    assert [e["type"] for e in live][:2] == ["candidate.started", "candidate.finished"]
    assert "candidate.created" in [e["type"] for e in live]
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_reconnect_after_n_gets_only_missed(cookie, search):
    stored = await stored_seqs(search)
    comm = communicator(search.pk, cookie=cookie, after=2)
    assert (await comm.connect())[0]
    replay = await receive_events(comm, len(stored) - 2)
    assert [e["seq"] for e in replay] == stored[2:]
    assert await comm.receive_nothing(timeout=0.3)
    await comm.disconnect()


async def test_gap_in_live_pushes_is_filled_from_database(cookie, search, monkeypatch):
    stored = await stored_seqs(search)
    comm = communicator(search.pk, cookie=cookie, after=stored[-1])
    assert (await comm.connect())[0]
    real_push = events_svc._push
    dropped = []

    def lossy_push(search_id, message):
        if not dropped:
            dropped.append(message["seq"])  # this push never reaches anyone
            return
        real_push(search_id, message)

    monkeypatch.setattr(events_svc, "_push", lossy_push)
    first = (await sync_to_async(queued_ids)(search))[0]
    await sync_to_async(run_one)(first)
    got = await receive_events(comm, 3)
    assert [e["seq"] for e in got] == [stored[-1] + 1, stored[-1] + 2, stored[-1] + 3]
    assert dropped == [stored[-1] + 1]
    await comm.disconnect()


async def test_progress_is_forwarded_and_throttled(cookie, search, settings):
    settings.LAB_PROGRESS_MIN_INTERVAL = 5.0
    stored = await stored_seqs(search)
    cid = (await sync_to_async(queued_ids)(search))[0]
    job = await sync_to_async(candidate_start)(candidate_id=cid, worker="w")
    comm = communicator(search.pk, cookie=cookie, after=stored[-1] + 1)
    assert (await comm.connect())[0]
    update = {"arch": "resnet50", "stage": "train", "step": 5, "total": 10, "loss": 1.0, "accuracy": 0.5}
    for _ in range(5):
        await sync_to_async(candidate_progress)(candidate_id=cid, attempt=job.attempt, progress=update)
    got = await comm.receive_json_from(timeout=5)
    assert got["type"] == "candidate.progress" and got["seq"] is None
    assert got["payload"] == {"candidate_id": cid, **update}
    assert await comm.receive_nothing(timeout=0.5)  # the other four were throttled
    await comm.disconnect()


async def test_ping_and_bad_messages(cookie, search):
    stored = await stored_seqs(search)
    comm = communicator(search.pk, cookie=cookie, after=stored[-1])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from() == {"type": "pong"}
    for bad in ['{"type": "subscribe"}', "not json", "[1, 2]"]:
        await comm.send_to(text_data=bad)
        reply = await comm.receive_json_from()
        assert reply["type"] == "error" and reply["payload"]["code"] == "invalid_message"
    await comm.send_to(bytes_data=b"\x00\x01")
    assert (await comm.receive_json_from())["type"] == "error"
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from() == {"type": "pong"}  # still open
    await comm.disconnect()


async def test_bad_after_is_treated_as_zero(cookie, search):
    stored = await stored_seqs(search)
    comm = WebsocketCommunicator(application, f"/ws/searches/{search.pk}/?after=abc",
                                 headers=[HOST, ORIGIN, (b"cookie", cookie)])
    assert (await comm.connect())[0]
    assert [e["seq"] for e in await receive_events(comm, len(stored))] == stored
    await comm.disconnect()


async def test_unauthenticated_closes_4401(search):
    comm = communicator(search.pk)
    connected, _ = await comm.connect()
    assert connected
    assert (await comm.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4401}
    await comm.disconnect()


async def test_not_owner_closes_4404(other_cookie, search):
    comm = communicator(search.pk, cookie=other_cookie)
    await comm.connect()
    assert (await comm.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4404}
    await comm.disconnect()
    comm = communicator(999999, cookie=other_cookie)
    await comm.connect()
    assert (await comm.receive_output(timeout=3)) == {"type": "websocket.close", "code": 4404}
    await comm.disconnect()


async def test_foreign_origin_is_refused(cookie, search):
    comm = communicator(search.pk, cookie=cookie, origin=(b"origin", b"http://evil.example"))
    connected, _ = await comm.connect()
    assert not connected
    await comm.wait()


async def test_many_events_replay_in_pages(cookie, search):
    await sync_to_async(_append_many)(search, 1200)
    stored = await stored_seqs(search)
    comm = communicator(search.pk, cookie=cookie)
    assert (await comm.connect())[0]
    got = await asyncio.wait_for(receive_events(comm, len(stored)), timeout=30)
    assert [e["seq"] for e in got] == stored
    await comm.disconnect()


def _append_many(search, n: int) -> None:
    from django.db import transaction

    with transaction.atomic():
        for i in range(n):
            events_svc.event_append(search=search, type="test.filler", payload={"i": i})


async def test_ping_delivers_a_lost_last_push(cookie, search, monkeypatch):
    stored = await stored_seqs(search)
    comm = communicator(search.pk, cookie=cookie, after=stored[-1])
    assert (await comm.connect())[0]
    await comm.send_json_to({"type": "ping"})
    assert await comm.receive_json_from() == {"type": "pong"}  # the replay on connect is over
    monkeypatch.setattr(events_svc, "_push", lambda search_id, message: None)  # every push lost
    await sync_to_async(_append_many)(search, 2)
    assert await comm.receive_nothing(timeout=0.3)
    await comm.send_json_to({"type": "ping"})
    got = [await comm.receive_json_from() for _ in range(3)]
    assert [e.get("seq") for e in got[:2]] == [stored[-1] + 1, stored[-1] + 2] and got[2] == {"type": "pong"}
    await comm.disconnect()


@pytest.mark.slow  # waits out the Redis read timeout
async def test_idle_socket_outlives_the_redis_read_timeout(cookie, search):
    """An idle consumer keeps its socket past the channel layer's 5 s blocking pop.

    With redis-py 8's default 5 s socket timeout the pop's read timed out and
    the consumer died every few seconds (django/channels_redis#422).
    """
    stored = await stored_seqs(search)
    comm = communicator(search.pk, cookie=cookie)
    assert (await comm.connect())[0]
    await receive_events(comm, len(stored))
    assert await comm.receive_nothing(timeout=8, interval=0.5)  # idle across at least one full pop
    first = (await sync_to_async(queued_ids)(search))[0]
    await sync_to_async(run_one)(first)
    live = await comm.receive_json_from(timeout=5)
    assert live["seq"] == stored[-1] + 1
    await comm.disconnect()
