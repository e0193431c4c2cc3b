"""A search's status, stage and counts, and cancelling its queued work (search row locked by the
caller, ``webapp.services.locks``).

Second layer of the search flow: imports only the locks' layer and below, never a stage.
"""

from __future__ import annotations

from django.db.models import Count
from django.utils import timezone

from webapp.models import Candidate, CandidateStatus, Search, SearchStatus
from webapp.models.searches import DONE_SEARCH_STATUSES
from webapp.selectors.candidates import candidate_summary
from webapp.services.events import event_append

DONE_STATUSES = DONE_SEARCH_STATUSES
STOPPED_REASON = "stopped by its owner"


def search_set_status(*, search: Search, status: str, stage: str | None = None, reason: str = "") -> None:
    """Change status/stage and log a ``search.status`` event (search row locked by the caller)."""
    search.status = status
    if stage is not None:
        search.stage = stage
    search.status_reason = reason
    now = timezone.now()
    fields = ["status", "stage", "status_reason"]
    if status == SearchStatus.RUNNING and search.started_at is None:
        search.started_at = now
        fields.append("started_at")
    if status in DONE_STATUSES:
        search.finished_at = now
        fields.append("finished_at")
    search.save(update_fields=fields)
    event_append(search=search, type="search.status",
                 payload={"status": search.status, "stage": search.stage, "reason": reason or None})


def search_refresh_counts(*, search: Search) -> None:
    """Recount candidates per status from the (search, status) index into ``search.counts``,
    plus ``unstable``: the rejected ones the stability test refused (they spend no budget)."""
    counts = dict.fromkeys(CandidateStatus.values, 0)
    for row in Candidate.objects.filter(search=search).values("status").annotate(n=Count("id")).order_by():
        counts[row["status"]] = row["n"]
    counts["unstable"] = Candidate.objects.filter(search=search, status=CandidateStatus.REJECTED,
                                                  rejection_reason="unstable").count()
    search.counts = counts
    search.save(update_fields=["counts"])


def candidates_cancel(*, search: Search, reason: str, message: str, running_message: str | None = None) -> int:
    """Cancel the search's queued candidates, and its running ones when ``running_message`` is given
    (search row locked): the search was stopped or failed. Returns how many were cancelled.

    A cancelled candidate is neither failed nor rejected: nothing is known about the layer. A
    running one's worker hears "abort" at its next heartbeat and its late report is ignored.
    """
    now = timezone.now()
    groups = [(CandidateStatus.QUEUED, message)]
    if running_message is not None:
        groups.append((CandidateStatus.RUNNING, running_message))
    cancelled: list[int] = []
    for status, text in groups:
        ids = list(Candidate.objects.filter(search=search, status=status).values_list("pk", flat=True))
        Candidate.objects.filter(pk__in=ids).update(
            status=CandidateStatus.CANCELLED, rejection_reason=reason, message=text, finished_at=now)
        cancelled += ids
    for candidate in Candidate.objects.filter(pk__in=cancelled).order_by("id"):
        event_append(search=search, type="candidate.finished", payload={"candidate": candidate_summary(candidate)})
    return len(cancelled)
