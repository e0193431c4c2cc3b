"""The rerank stage: retrain the search's top candidates longer, keep the best.

One ``RerankJob`` row per top candidate, one task per job keyed by its id
(``workers.tasks.rerank_candidate [job_id]`` on the ``eval`` queue), recorded
at most once per attempt, like evaluations. When every job has ended the
search logs ``rerank.finished`` with the ranking and finishes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from webapp.models import (
    Candidate,
    CandidateStatus,
    RerankJob,
    RerankStatus,
    Search,
    SearchStage,
    SearchStatus,
)
from webapp.services import dispatch
from webapp.services.attempts import WORKING_SEARCH_STATUSES, attempt_alive, attempt_begin
from webapp.services.events import event_append
from webapp.services.jsonsafe import finite_or_none, json_safe

log = logging.getLogger(__name__)

ACTIVE_JOB_STATUSES = (RerankStatus.QUEUED, RerankStatus.RUNNING)


@dataclass(frozen=True)
class RerankWork:
    """What a worker needs to run one rerank job: ``rerank([graph], eval_config, seeds=, steps=)``."""

    job_id: int
    attempt: int
    candidate_id: int
    search_id: int
    document: dict
    eval_config: dict
    seeds: list[int]
    steps: int


def rerank_begin(*, search: Search, config: Any, why: str = "") -> None:
    """Enter the rerank stage (search row locked), or finish when there is nothing to rerank.

    ``why`` says why the evolution ended (budget, time); it stays the reason through the
    rerank stage and into the finished status.
    """
    from webapp.services.advance import search_set_status

    top_k = int(getattr(config, "rerank_top_k", 0) or 0)
    top = list(
        Candidate.objects.filter(search=search, status=CandidateStatus.EVALUATED, mean_score__isnull=False)
        .order_by("-mean_score", "id")[:top_k]
    ) if top_k > 0 else []
    if not top:
        none_left = "" if top_k <= 0 else "; no evaluated candidate to re-rank"
        search_set_status(search=search, status=SearchStatus.FINISHED, stage=SearchStage.DONE,
                          reason=f"{why}{none_left}" if why else none_left.lstrip("; "))
        return
    search_set_status(search=search, status=search.status, stage=SearchStage.RERANK, reason=why)
    for candidate in top:
        job, created = RerankJob.objects.get_or_create(search=search, candidate=candidate)
        if created:
            dispatch.task_enqueue(name=dispatch.TASK_RERANK, args=[job.pk], queue=dispatch.EVAL_QUEUE)


def rerank_ranking(*, search: Search, keep: int | None = None) -> list[dict]:
    jobs = RerankJob.objects.filter(search=search, status=RerankStatus.DONE, mean_score__isnull=False)
    ranking = [
        {"candidate_id": j.candidate_id, "mean_score": j.mean_score, "scores": (j.result or {}).get("scores", {})}
        for j in jobs.order_by("-mean_score", "id")
    ]
    return ranking[:keep] if keep else ranking


def rerank_check(*, search: Search) -> None:
    """Finish the search once no rerank job is queued or running (search row locked)."""
    from webapp.services.advance import search_set_status

    if RerankJob.objects.filter(search=search, status__in=ACTIVE_JOB_STATUSES).exists():
        return
    keep = int(search.config.get("rerank_keep", 0) or 0)
    event_append(search=search, type="rerank.finished", payload={"ranking": rerank_ranking(search=search, keep=keep)})
    if search.status == SearchStatus.STOPPING:  # a stop from before stops took effect at once
        from webapp.services.advance import STOPPED_REASON

        search_set_status(search=search, status=SearchStatus.STOPPED, stage=SearchStage.DONE, reason=STOPPED_REASON)
        return
    done = RerankJob.objects.filter(search=search, status=RerankStatus.DONE).count()
    reranked = f"top {done} re-ranked" if done else "re-ranking failed"
    why = search.status_reason
    search_set_status(search=search, status=SearchStatus.FINISHED, stage=SearchStage.DONE,
                      reason=f"{why}; {reranked}" if why else reranked)


def rerank_job_start(*, job_id: int, worker: str) -> RerankWork | None:
    """Begin an attempt of a queued job; None when it is not runnable."""
    from webapp.services.advance import work_locked

    with work_locked(model=RerankJob, pk=job_id) as locked:
        if locked is None:
            return None
        search, _quota, job = locked
        if job.status != RerankStatus.QUEUED or search.status not in WORKING_SEARCH_STATUSES:
            return None
        attempt_begin(row=job, worker=worker)
        config = search.config
        n_seeds = max(1, int(config.get("rerank_seeds", 1) or 1))
        return RerankWork(
            job_id=job.pk,
            attempt=job.attempts,
            candidate_id=job.candidate_id,
            search_id=search.pk,
            document=job.candidate.document,
            eval_config=config["eval"],
            seeds=[int(search.seed) + 1 + i for i in range(n_seeds)],
            steps=int(config.get("rerank_steps", 0) or config["eval"]["steps"]),
        )


def rerank_job_heartbeat(*, job_id: int, attempt: int) -> bool:
    """Record that the attempt is alive; False means abort (superseded or search stopped)."""
    return attempt_alive(model=RerankJob, pk=job_id, attempt=attempt, beat=True)


def rerank_job_record_result(*, job_id: int, attempt: int, result: dict) -> bool:
    """Store a job's result (one entry of ``search_engine.evaluate.rerank``'s list); idempotent.

    ``result`` with ``status: "failed"`` (or without a finite mean) marks the
    job failed. Returns False when the attempt was superseded or already recorded.
    """
    from webapp.services.advance import advance_locked, work_locked

    with work_locked(model=RerankJob, pk=job_id) as locked:
        if locked is None:
            return False
        search, quota, job = locked
        if job.status != RerankStatus.RUNNING or job.attempts != attempt:
            return False
        result = result if isinstance(result, dict) else {}
        mean = finite_or_none(result.get("mean_score", result.get("mean")))
        job.result = json_safe(result)
        job.mean_score = mean
        job.status = RerankStatus.DONE if mean is not None and result.get("status") != "failed" else RerankStatus.FAILED
        job.message = str(result.get("message", ""))[:4000]
        job.finished_at = timezone.now()
        job.save(update_fields=["result", "mean_score", "status", "message", "finished_at"])
        advance_locked(search=search, quota=quota)
        return True


def rerank_job_requeue_or_fail(*, job: RerankJob, search: Search, max_attempts: int, reason: str) -> str:
    """The reaper's decision for a silent job (search row locked): requeue, or fail past the cap."""
    if job.attempts < max_attempts and search.status in WORKING_SEARCH_STATUSES:
        job.status = RerankStatus.QUEUED
        job.save(update_fields=["status"])
        dispatch.task_enqueue(name=dispatch.TASK_RERANK, args=[job.pk], queue=dispatch.EVAL_QUEUE)
        return "requeued"
    job.status = RerankStatus.FAILED
    job.message = reason
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "message", "finished_at"])
    return "failed"


def rerank_jobs_stop(*, search: Search) -> None:
    """Stop: queued jobs never start, running ones are abandoned (search row locked)."""
    with transaction.atomic():
        RerankJob.objects.filter(search=search, status__in=ACTIVE_JOB_STATUSES).update(
            status=RerankStatus.FAILED, message="stopped", finished_at=timezone.now())
