"""The reaper: recover work whose worker went silent, or whose queue message was lost.

Run every ``LAB_REAPER_INTERVAL`` seconds by Celery beat
(``workers.tasks.reap_stale_candidates``):

- a running candidate (or rerank job) without a heartbeat for
  ``LAB_HEARTBEAT_TIMEOUT`` seconds goes back to the queue, up to
  ``LAB_MAX_ATTEMPTS`` attempts; after that it is ``lost`` (a rerank job
  ``failed``) and the search advances;
- when the broker is new (an embedded Redis keeps nothing across restarts,
  detected by a marker key that is missing), every queued candidate and job is
  enqueued again; duplicates are harmless since a start is idempotent;
- running searches with room for more work are advanced (their nudge may
  have been lost with the broker).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from webapp.models import (
    Candidate,
    CandidateStatus,
    RerankJob,
    RerankStatus,
    Search,
    SearchStatus,
    UserQuota,
)
from webapp.services import dispatch
from webapp.services.advance import advance_locked, search_advance
from webapp.services.attempts import WORKING_SEARCH_STATUSES
from webapp.services.events import event_append
from webapp.services.locks import work_locked
from webapp.services.rerank import rerank_job_requeue_or_fail
from webapp.services.throttle import redis_client

log = logging.getLogger(__name__)

BATCH = 500
BROKER_MARKER = "lab:broker-epoch"


def candidates_reap_stale(*, now: datetime | None = None) -> int:
    """Requeue or give up on silent attempts; returns how many candidates and jobs were handled."""
    now = now or timezone.now()
    cutoff = now - timedelta(seconds=settings.LAB_HEARTBEAT_TIMEOUT)
    handled = 0
    stale = Candidate.objects.filter(status=CandidateStatus.RUNNING, last_heartbeat__lt=cutoff) \
        .values_list("pk", flat=True)[:BATCH]
    for candidate_id in list(stale):
        handled += _reap_candidate(candidate_id=candidate_id, cutoff=cutoff)
    stale_jobs = RerankJob.objects.filter(status=RerankStatus.RUNNING, last_heartbeat__lt=cutoff) \
        .values_list("pk", flat=True)[:BATCH]
    for job_id in list(stale_jobs):
        handled += _reap_job(job_id=job_id, cutoff=cutoff)
    _reenqueue_after_broker_loss()
    for search_id in Search.objects.filter(status=SearchStatus.RUNNING).values_list("pk", flat=True):
        search_advance(search_id=search_id)
    return handled


def _reap_candidate(*, candidate_id: int, cutoff: datetime) -> int:
    with work_locked(model=Candidate, pk=candidate_id) as locked:
        if locked is None:
            return 0
        search, quota, candidate = locked
        if candidate.status != CandidateStatus.RUNNING or candidate.last_heartbeat >= cutoff:
            return 0  # it reported or beat in the meantime
        silent = int(settings.LAB_HEARTBEAT_TIMEOUT)
        _requeue_or_lose(search=search, quota=quota, candidate=candidate,
                         requeue_reason=f"no heartbeat from {candidate.worker or 'the worker'} for {silent} s",
                         lost_reason=f"no heartbeat for {silent} s, {candidate.attempts} attempts")
        return 1


def _requeue_or_lose(*, search: Search, quota: UserQuota, candidate: Candidate, requeue_reason: str,
                     lost_reason: str) -> None:
    """A running attempt ended without a result (rows locked): queue the candidate again, or past the
    attempt cap (or when the search no longer wants it) mark it lost; then advance the search."""
    wanted = search.status in WORKING_SEARCH_STATUSES
    if candidate.attempts < settings.LAB_MAX_ATTEMPTS and wanted:
        candidate.status = CandidateStatus.QUEUED
        candidate.save(update_fields=["status"])
        event_append(search=search, type="candidate.requeued",
                     payload={"candidate_id": candidate.pk, "attempt": candidate.attempts, "reason": requeue_reason})
        dispatch.task_enqueue(name=dispatch.TASK_EVALUATE, args=[candidate.pk], queue=dispatch.EVAL_QUEUE)
    else:
        reason = lost_reason if wanted else f"the search is {search.status} and the worker went silent"
        candidate.status = CandidateStatus.LOST
        candidate.rejection_reason = "lost"
        candidate.message = reason
        candidate.finished_at = timezone.now()
        candidate.save(update_fields=["status", "rejection_reason", "message", "finished_at"])
        event_append(search=search, type="candidate.lost", payload={"candidate_id": candidate.pk, "reason": reason})
    advance_locked(search=search, quota=quota)


def candidate_release_lost_worker(*, candidate_id: int, worker: str) -> bool:
    """The pool process ``worker`` (``<node>/<pid>``) died while evaluating: requeue its attempt now.

    Called by the worker's main process, which saw the child die, so nobody
    waits ``LAB_HEARTBEAT_TIMEOUT`` for the reaper. Only the attempt that
    process holds is touched; False when there is none (it had finished, or
    another process holds the candidate).
    """
    with work_locked(model=Candidate, pk=candidate_id) as locked:
        if locked is None:
            return False
        search, quota, candidate = locked
        if candidate.status != CandidateStatus.RUNNING or candidate.worker != worker:
            return False
        _requeue_or_lose(search=search, quota=quota, candidate=candidate,
                         requeue_reason=f"the worker process {worker} died",
                         lost_reason=f"the worker process {worker} died; {candidate.attempts} attempts")
        return True


def rerank_job_release_lost_worker(*, job_id: int, worker: str) -> bool:
    """``candidate_release_lost_worker`` for a rerank job."""
    with work_locked(model=RerankJob, pk=job_id) as locked:
        if locked is None:
            return False
        search, quota, job = locked
        if job.status != RerankStatus.RUNNING or job.worker != worker:
            return False
        rerank_job_requeue_or_fail(job=job, search=search, max_attempts=settings.LAB_MAX_ATTEMPTS,
                                   reason=f"the worker process {worker} died")
        advance_locked(search=search, quota=quota)
        return True


def broker_recover() -> int:
    """After (re)connecting to the broker: enqueue every queued candidate and rerank job again and
    advance the running searches; returns how many tasks were sent.

    Run by the control worker each time its broker connection starts
    (``workers.celery_app.BrokerRecovery``), so a Redis that restarted empty,
    or sends lost while it was down, never leave work waiting for the
    reaper's clock. Duplicates are harmless: a start is idempotent.
    """
    sent = _enqueue_queued_work()
    for search_id in Search.objects.filter(status=SearchStatus.RUNNING).values_list("pk", flat=True):
        search_advance(search_id=search_id)
    return sent


def _reap_job(*, job_id: int, cutoff: datetime) -> int:
    with work_locked(model=RerankJob, pk=job_id) as locked:
        if locked is None:
            return 0
        search, quota, job = locked
        if job.status != RerankStatus.RUNNING or job.last_heartbeat >= cutoff:
            return 0
        rerank_job_requeue_or_fail(job=job, search=search, max_attempts=settings.LAB_MAX_ATTEMPTS,
                                   reason=f"no heartbeat for {int(settings.LAB_HEARTBEAT_TIMEOUT)} s")
        advance_locked(search=search, quota=quota)
        return 1


def _reenqueue_after_broker_loss() -> None:
    try:
        fresh = redis_client().set(BROKER_MARKER, timezone.now().isoformat(), nx=True)
    except Exception:  # no broker now: nothing can be enqueued anyway
        log.warning("reaper cannot reach Redis", exc_info=True)
        return
    if fresh:
        _enqueue_queued_work()


def _enqueue_queued_work() -> int:
    """Enqueue every queued candidate and rerank job of a working search again; returns how many."""
    sent = 0
    active = WORKING_SEARCH_STATUSES
    for candidate_id in Candidate.objects.filter(status=CandidateStatus.QUEUED, search__status__in=active) \
            .values_list("pk", flat=True).iterator():
        dispatch.task_enqueue(name=dispatch.TASK_EVALUATE, args=[candidate_id], queue=dispatch.EVAL_QUEUE)
        sent += 1
    for job_id in RerankJob.objects.filter(status=RerankStatus.QUEUED, search__status__in=active) \
            .values_list("pk", flat=True).iterator():
        dispatch.task_enqueue(name=dispatch.TASK_RERANK, args=[job_id], queue=dispatch.EVAL_QUEUE)
        sent += 1
    return sent
