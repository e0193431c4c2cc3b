"""What the evaluation tasks call: start an attempt, heartbeat, progress, record the result.

Each candidate has one active attempt at a time (``attempts`` counts them).
A report from a superseded attempt, or a second report of the same one, is
ignored, so running a task twice changes nothing. Recording a result advances
the search in the same transaction.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from webapp.models import Candidate, CandidateStatus, Search, SearchStatus
from webapp.selectors.candidates import candidate_summary
from webapp.services import dispatch
from webapp.services.advance import advance_locked
from webapp.services.attempts import WORKING_SEARCH_STATUSES, attempt_alive, attempt_begin
from webapp.services.events import event_append, event_push_ephemeral
from webapp.services.jsonsafe import finite_or_none, json_safe
from webapp.services.locks import work_locked
from webapp.services.results import failed_result
from webapp.services.search_state import search_refresh_counts
from webapp.services.throttle import throttle_allow

log = logging.getLogger(__name__)

MAX_CURVE_POINTS = 200
RESULT_STATUSES = (CandidateStatus.EVALUATED, CandidateStatus.REJECTED, CandidateStatus.FAILED)


@dataclass(frozen=True)
class EvaluationJob:
    """What a worker needs to evaluate one candidate."""

    candidate_id: int
    attempt: int
    document: dict
    eval_config: dict
    seed: int
    search_id: int


def candidate_start(*, candidate_id: int, worker: str) -> EvaluationJob | None:
    """Begin a new attempt of a queued candidate; None when it is not runnable."""
    with work_locked(model=Candidate, pk=candidate_id) as locked:
        if locked is None:
            return None
        search, _quota, candidate = locked
        if candidate.status != CandidateStatus.QUEUED or search.status not in WORKING_SEARCH_STATUSES:
            return None
        attempt_begin(row=candidate, worker=worker)
        search_refresh_counts(search=search)
        event_append(search=search, type="candidate.started",
                     payload={"candidate_id": candidate.pk, "attempt": candidate.attempts, "worker": candidate.worker})
        return EvaluationJob(
            candidate_id=candidate.pk,
            attempt=candidate.attempts,
            document=candidate.document,
            eval_config=search.config["eval"],
            seed=int(search.seed),
            search_id=search.pk,
        )


def candidate_heartbeat(*, candidate_id: int, attempt: int) -> bool:
    """Record that the attempt is alive; False means abort (superseded, or the search stopped)."""
    return attempt_alive(model=Candidate, pk=candidate_id, attempt=attempt, beat=True)


def candidate_should_abort(*, candidate_id: int, attempt: int) -> bool:
    """True when the attempt should stop training (the read-only twin of the heartbeat)."""
    return not attempt_alive(model=Candidate, pk=candidate_id, attempt=attempt, beat=False)


PROGRESS_KEYS = ("arch", "stage", "step", "total", "loss", "accuracy")


def candidate_progress(*, candidate_id: int, attempt: int, progress: dict) -> None:
    """Push a training progress update to the search's stream, at most a few per second per candidate.

    The throttle lives in Redis, so all worker processes share it. Nothing is stored.
    """
    if not throttle_allow(key=f"progress:{candidate_id}", interval=settings.LAB_PROGRESS_MIN_INTERVAL):
        return
    row = Candidate.objects.filter(pk=candidate_id, attempts=attempt, status=CandidateStatus.RUNNING) \
        .values_list("search_id", flat=True).first()
    if row is None:
        return
    progress = progress if isinstance(progress, dict) else {}
    payload = {"candidate_id": candidate_id, **{k: json_safe(progress.get(k)) for k in PROGRESS_KEYS}}
    event_push_ephemeral(search_id=row, type="candidate.progress", payload=payload)


def downsample(points: list, limit: int = MAX_CURVE_POINTS) -> list:
    """At most ``limit`` points, evenly spaced, keeping the first and the last."""
    if len(points) <= limit:
        return list(points)
    step = (len(points) - 1) / (limit - 1)
    return [points[round(i * step)] for i in range(limit)]


_SOURCE_LOCATION = re.compile(r"\s+at [\w.-]+\.py:\d+")
_SERVER_PATH = re.compile(r"(?<![\w.:/])/(?:[\w.@+-]+/)+[\w.@+-]*")


def user_message(message: str) -> str:
    """A worker's failure message as the search's owner sees it: what went wrong, not where on the
    server (source locations and absolute paths are dropped; workers log the details)."""
    return _SERVER_PATH.sub("…", _SOURCE_LOCATION.sub("", message))


def _clean_result(result: Any) -> dict:
    """A worker's ``EvalResult.to_dict()``, made safe to store; malformed becomes a failure."""
    if not isinstance(result, dict) or result.get("status") not in RESULT_STATUSES:
        return failed_result(reason="error", message=f"malformed result from the worker: {str(result)[:500]}")
    scores = {}
    for arch, value in (result.get("scores") or {}).items() if isinstance(result.get("scores"), dict) else ():
        number = finite_or_none(value)
        if number is not None:
            scores[str(arch)] = number
    curves = result.get("curves") if isinstance(result.get("curves"), dict) else {}
    return {
        "status": result["status"],
        "rejection_reason": str(result.get("rejection_reason") or "")[:40],
        "message": user_message(str(result.get("message") or "")[:10_000]),
        "scores": scores,
        "curves": {str(a): downsample(json_safe(c)) for a, c in curves.items() if isinstance(c, list)},
        "timings": json_safe(result.get("timings")) if isinstance(result.get("timings"), dict) else {},
        "device": str(result.get("device") or "")[:100],
    }


def candidate_record_result(*, candidate_id: int, attempt: int, result: dict) -> bool:
    """Store the result of ``attempt`` once and advance the search; False if ignored.

    A report is accepted from the running attempt, or from an attempt the
    reaper requeued that has not been restarted yet (its work is still good).
    """
    with work_locked(model=Candidate, pk=candidate_id) as locked:
        if locked is None:
            return False
        search, quota, candidate = locked
        if candidate.attempts != attempt or candidate.status not in (CandidateStatus.RUNNING, CandidateStatus.QUEUED):
            return False
        clean = _clean_result(result)
        candidate.status = clean["status"]
        candidate.rejection_reason = "" if clean["status"] == CandidateStatus.EVALUATED else clean["rejection_reason"]
        candidate.message = clean["message"]
        candidate.scores = clean["scores"]
        candidate.mean_score = (
            sum(clean["scores"].values()) / len(clean["scores"])
            if clean["status"] == CandidateStatus.EVALUATED and clean["scores"] else None
        )
        candidate.curves = clean["curves"]
        candidate.timings = clean["timings"]
        candidate.device = clean["device"]
        candidate.finished_at = timezone.now()
        candidate.save()
        _update_best(search, candidate)
        event_append(search=search, type="candidate.finished", payload={"candidate": candidate_summary(candidate)})
        advance_locked(search=search, quota=quota)
    _nudge_starved_searches(owner_id=search.owner_id, except_id=search.pk)
    return True


def _update_best(search: Search, candidate: Candidate) -> None:
    if candidate.mean_score is None:
        return
    best = search.best_candidate
    if best is None or best.mean_score is None or candidate.mean_score > best.mean_score:
        search.best_candidate = candidate
        search.save(update_fields=["best_candidate"])


def _nudge_starved_searches(*, owner_id: int, except_id: int) -> None:
    """A finished candidate frees quota: let the owner's other running searches use it."""
    for other in Search.objects.filter(owner_id=owner_id, status=SearchStatus.RUNNING,
                                       stage="evolution").exclude(pk=except_id).values_list("pk", flat=True):
        dispatch.task_enqueue(name=dispatch.TASK_ADVANCE, args=[other], queue=dispatch.CONTROL_QUEUE)
