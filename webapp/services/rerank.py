"""The workers' side of the rerank stage: retrain the search's top candidates longer, keep the best.

One ``RerankJob`` row per top candidate, one task per job keyed by its id
(``workers.tasks.rerank_candidate [job_id]`` on the ``eval`` queue), recorded
at most once per attempt, like evaluations. Recording a result advances the
search; when every job has ended the stage (``webapp.services.rerank_stage``)
logs ``rerank.finished`` with the ranking and finishes the search.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.utils import timezone

from webapp.models import RerankJob, RerankStatus, Search
from webapp.services import dispatch
from webapp.services.advance import advance_locked
from webapp.services.attempts import WORKING_SEARCH_STATUSES, attempt_alive, attempt_begin
from webapp.services.jsonsafe import finite_or_none, json_safe
from webapp.services.locks import work_locked

log = logging.getLogger(__name__)


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


def rerank_job_start(*, job_id: int, worker: str) -> RerankWork | None:
    """Begin an attempt of a queued job; None when it is not runnable."""
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
