"""The live event stream of one search: ``ws/searches/<id>/?after=N``.

On connect the consumer joins the search's group first and only then replays
stored events with ``seq > after`` from the database, so nothing published
in between is missed. Live events at or below the last sequence sent are
dropped; a live event beyond the next expected one makes the consumer fetch
the gap from the database first, and a client's ping first sends any stored
event it has not had (a lost push at the very end). The result: every stored
event once, in order. Progress events (``seq`` null) are forwarded as they come.
"""

from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from asgiref.typing import ASGIReceiveCallable, ASGISendCallable, Scope
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from redis.exceptions import RedisError

from webapp.selectors.events import events_after
from webapp.selectors.searches import search_owned_exists
from webapp.services.events import search_group_name

log = logging.getLogger(__name__)

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_NOT_FOUND = 4404
# The channel layer (Redis) is down: try again later; the client reconnects. (RFC 6455's
# 1013 says the same, but daphne's websocket library lets a server send only 1000 or 3000-4999.)
CLOSE_TRY_AGAIN = 4503
REPLAY_PAGE = 500
# What the channel layer raises while Redis is unreachable.
CHANNEL_LAYER_DOWN = (RedisError, OSError, asyncio.TimeoutError)


class SearchEventsConsumer(AsyncJsonWebsocketConsumer):
    search_id: int
    group: str | None = None
    last_seq: int = 0
    accepted: bool = False

    async def __call__(self, scope: Scope, receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
        """Run the consumer; when Redis goes away, close the socket cleanly (4503) instead of erroring."""
        try:
            await super().__call__(scope, receive, send)
        except CHANNEL_LAYER_DOWN as exc:
            log.warning("search stream %s: the channel layer is unreachable (%s); closing with %d",
                        scope.get("path"), exc, CLOSE_TRY_AGAIN)
            if not self.accepted:  # a close before accepting would reach the browser as a bare failure
                await send({"type": "websocket.accept"})
            await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN})

    async def accept(self, subprotocol: str | None = None, headers: list[tuple[bytes, bytes]] | None = None) -> None:
        await super().accept(subprotocol, headers)
        self.accepted = True

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self._refuse(CLOSE_NOT_AUTHENTICATED)
            return
        self.search_id = int(self.scope["url_route"]["kwargs"]["search_id"])
        if not await database_sync_to_async(search_owned_exists)(owner_id=user.pk, search_id=self.search_id):
            await self._refuse(CLOSE_NOT_FOUND)
            return
        self.last_seq = self._after_from_query()
        self.group = search_group_name(self.search_id)
        # In the group before the handshake completes: a client that sees the
        # socket open cannot miss a push; the replay follows.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self._send_stored(up_to=None)

    async def _refuse(self, code: int) -> None:
        """Accept, then close with ``code``: a close before accepting would reach the browser as a bare failure."""
        await self.accept()
        await self.close(code=code)

    def _after_from_query(self) -> int:
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        raw = (query.get("after") or ["0"])[0]
        try:
            return max(0, int(raw))
        except ValueError:
            return 0

    async def _send_stored(self, *, up_to: int | None) -> None:
        """Send stored events after ``last_seq`` (up to ``up_to``), page by page."""
        while True:
            page = await database_sync_to_async(events_after)(
                search_id=self.search_id, after=self.last_seq, limit=REPLAY_PAGE, up_to=up_to
            )
            for event in page:
                await self.send_json(event)
                self.last_seq = event["seq"]
            if len(page) < REPLAY_PAGE:
                return

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            try:
                await self.channel_layer.group_discard(self.group, self.channel_name)
            except CHANNEL_LAYER_DOWN:
                pass  # the group's keys expire with Redis's own (channel layer) expiry

    async def receive_json(self, content: object, **kwargs: object) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            # A ping also closes a gap at the tail (a push lost with no event after it).
            await self._send_stored(up_to=None)
            await self.send_json({"type": "pong"})
            return
        await self.send_json({"type": "error", "payload": {
            "code": "invalid_message", "message": 'The only client message is {"type": "ping"}.'}})

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: object) -> None:
        if text_data is None:
            await self.send_json({"type": "error", "payload": {
                "code": "invalid_message", "message": "Send JSON text frames."}})
            return
        try:
            content = await self.decode_json(text_data)
        except ValueError:
            await self.send_json({"type": "error", "payload": {
                "code": "invalid_message", "message": "Not valid JSON."}})
            return
        await self.receive_json(content, **kwargs)

    async def lab_event(self, message: dict) -> None:
        event = message["event"]
        seq = event.get("seq")
        if seq is None:
            await self.send_json(event)
            return
        if seq <= self.last_seq:
            return
        if seq > self.last_seq + 1:
            await self._send_stored(up_to=seq)
            if self.last_seq >= seq:
                return
        await self.send_json(event)
        self.last_seq = seq
