"""Writes: every change to the lab's data goes through a function here.

Functions are keyword-only and named ``<entity>_<action>``. The Celery tasks
in ``workers/`` call the candidate, rerank and search functions
(docs/INTERFACES.md, section 3), imported from this package.
"""

from webapp.services.advance import search_advance
from webapp.services.candidates import (
    EvaluationJob,
    candidate_heartbeat,
    candidate_progress,
    candidate_record_result,
    candidate_should_abort,
    candidate_start,
)
from webapp.services.reaper import (
    broker_recover,
    candidate_release_lost_worker,
    candidates_reap_stale,
    rerank_job_release_lost_worker,
)
from webapp.services.rerank import (
    RerankWork,
    rerank_job_heartbeat,
    rerank_job_record_result,
    rerank_job_start,
)

__all__ = [
    "EvaluationJob",
    "RerankWork",
    "broker_recover",
    "candidate_release_lost_worker",
    "candidate_heartbeat",
    "candidate_progress",
    "candidate_record_result",
    "candidate_should_abort",
    "candidate_start",
    "candidates_reap_stale",
    "rerank_job_heartbeat",
    "rerank_job_release_lost_worker",
    "rerank_job_record_result",
    "rerank_job_start",
    "search_advance",
]
