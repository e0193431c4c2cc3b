"""Event writes: a gap-free per-search sequence, pushed to the live stream after commit.

The database is the truth. A push that fails (Redis down, nobody listening)
is logged and forgotten: a client that reconnects with ``after=N`` gets the
missed events replayed from the table.
"""

from __future__ import annotations

import logging
from typing import Any

from asgiref.sync import async_to_sync
from django.db import transaction

from webapp.models import Event, Search
from webapp.selectors.events import event_as_dict

log = logging.getLogger(__name__)


def search_group_name(search_id: int) -> str:
    return f"search-{search_id}"


def event_append(*, search: Search, type: str, payload: dict[str, Any]) -> Event:
    """Store the next event of ``search`` in the caller's transaction; push it after commit.

    The sequence number is allocated under the search row lock, so concurrent
    writers (web, workers, reaper) serialise and the sequence has no gaps.
    """
    with transaction.atomic():
        seq = Search.objects.select_for_update().values_list("last_seq", flat=True).get(pk=search.pk) + 1
        Search.objects.filter(pk=search.pk).update(last_seq=seq)
        search.last_seq = seq
        event = Event.objects.create(search_id=search.pk, seq=seq, type=type, payload=payload)
    message = event_as_dict(event)
    transaction.on_commit(lambda: _push(search.pk, message))
    return event


def event_push_ephemeral(*, search_id: int, type: str, payload: dict[str, Any]) -> None:
    """Push a not-stored event (progress) straight to the stream."""
    _push(search_id, {"seq": None, "type": type, "payload": payload, "created_at": None})


def _push(search_id: int, message: dict) -> None:
    from channels.layers import get_channel_layer

    try:
        layer = get_channel_layer()
        if layer is None:
            return
        async_to_sync(layer.group_send)(search_group_name(search_id), {"type": "lab.event", "event": message})
    except Exception:  # the stream is best effort; replay from the database fills gaps
        log.warning("could not push event to search %s", search_id, exc_info=True)
