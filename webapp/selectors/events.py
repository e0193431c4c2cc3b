"""Event reads: the replay behind ``GET /api/searches/{id}/events`` and the websocket."""

from __future__ import annotations

from webapp.models import Event

MAX_EVENTS_PAGE = 1000


def event_as_dict(event: Event) -> dict:
    return {
        "seq": event.seq,
        "type": event.type,
        "payload": event.payload,
        "created_at": event.created_at.isoformat(),
    }


def events_after(*, search_id: int, after: int, limit: int = 500, up_to: int | None = None) -> list[dict]:
    """Stored events of a search with ``after < seq`` (and ``seq <= up_to``), oldest first."""
    qs = Event.objects.filter(search_id=search_id, seq__gt=after)
    if up_to is not None:
        qs = qs.filter(seq__lte=up_to)
    limit = max(1, min(limit, MAX_EVENTS_PAGE))
    return [event_as_dict(e) for e in qs.order_by("seq")[:limit]]
