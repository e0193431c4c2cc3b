"""The rerank stage of a search: enter it (one ``RerankJob`` per top candidate), finish the search
once every job has ended, stop its jobs (search row locked by the caller).

The stages' layer of the search flow: imports search state and below, never ``advance``. The
workers' side of a job (start, heartbeat, record) is ``webapp.services.rerank``.
"""

from __future__ import annotations

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
from webapp.services.events import event_append
from webapp.services.search_state import STOPPED_REASON, search_set_status

ACTIVE_JOB_STATUSES = (RerankStatus.QUEUED, RerankStatus.RUNNING)


def rerank_begin(*, search: Search, config: Any, why: str = "") -> None:
    """Enter the rerank stage (search row locked), or finish when there is nothing to rerank.

    ``why`` says why the evolution ended (budget, time); it stays the reason through the
    rerank stage and into the finished status.
    """
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
    if RerankJob.objects.filter(search=search, status__in=ACTIVE_JOB_STATUSES).exists():
        return
    keep = int(search.config.get("rerank_keep", 0) or 0)
    event_append(search=search, type="rerank.finished", payload={"ranking": rerank_ranking(search=search, keep=keep)})
    if search.status == SearchStatus.STOPPING:  # a stop from before stops took effect at once
        search_set_status(search=search, status=SearchStatus.STOPPED, stage=SearchStage.DONE, reason=STOPPED_REASON)
        return
    done = RerankJob.objects.filter(search=search, status=RerankStatus.DONE).count()
    reranked = f"top {done} re-ranked" if done else "re-ranking failed"
    why = search.status_reason
    search_set_status(search=search, status=SearchStatus.FINISHED, stage=SearchStage.DONE,
                      reason=f"{why}; {reranked}" if why else reranked)


def rerank_jobs_stop(*, search: Search) -> None:
    """Stop: queued jobs never start, running ones are abandoned (search row locked)."""
    with transaction.atomic():
        RerankJob.objects.filter(search=search, status__in=ACTIVE_JOB_STATUSES).update(
            status=RerankStatus.FAILED, message="stopped", finished_at=timezone.now())
