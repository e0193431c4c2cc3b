"""Attempts, shared by evaluations (``Candidate``) and rerank jobs (``RerankJob``).

Both are rows with ``status``, ``attempts``, ``worker``, ``started_at`` and
``last_heartbeat``; one attempt runs at a time and a heartbeat from any other
attempt, or for a search that no longer wants the work, says "abort".
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from webapp.models import SearchStatus

RUNNING = "running"  # the same value in CandidateStatus and RerankStatus
# A search in these states still wants its in-flight work done.
WORKING_SEARCH_STATUSES = (SearchStatus.RUNNING, SearchStatus.PAUSED)


def attempt_begin(*, row: models.Model, worker: str) -> None:
    """Start the next attempt on a locked row."""
    now = timezone.now()
    row.status = RUNNING
    row.attempts += 1
    row.worker = str(worker)[:200]
    row.started_at = now
    row.last_heartbeat = now
    row.save(update_fields=["status", "attempts", "worker", "started_at", "last_heartbeat"])


def attempt_alive(*, model: type[models.Model], pk: int, attempt: int, beat: bool) -> bool:
    """Whether ``attempt`` is still the one wanted; with ``beat`` also record its heartbeat."""
    qs = model.objects.filter(pk=pk, attempts=attempt, status=RUNNING, search__status__in=WORKING_SEARCH_STATUSES)
    if beat:
        return bool(qs.update(last_heartbeat=timezone.now()))
    return qs.exists()
