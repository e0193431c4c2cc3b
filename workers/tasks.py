"""Thin Celery tasks: translate ids, call a service or the engine, record the outcome.

Each candidate is evaluated by exactly one task keyed by its id. Running the
same task twice is harmless: ``candidate_start`` returns None for a candidate
that is finished, lost or belongs to a stopped search, and
``candidate_record_result`` ignores a report from a superseded attempt or a
candidate already recorded. All search state lives in the database.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from billiard.einfo import ExceptionInfo, ExceptionWithTraceback
from billiard.exceptions import WorkerLostError
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.worker.request import Request
from django.conf import settings

from workers.celery_app import (
    TASK_ADVANCE,
    TASK_EVALUATE,
    TASK_REAP,
    TASK_RECOVER,
    TASK_RERANK,
    app,
)
from workers.devices import resolve_device
from workers.heartbeat import Heartbeat

log = logging.getLogger(__name__)

EVAL_TIME_LIMIT = int(settings.CELERY_EVAL_TIME_LIMIT)
# The soft limit raises inside the task so the failure is recorded; the hard
# limit kills the process shortly after if training ignores it.
EVAL_SOFT_TIME_LIMIT = max(EVAL_TIME_LIMIT - max(5, EVAL_TIME_LIMIT // 20), int(EVAL_TIME_LIMIT * 0.5))
CONTROL_TIME_LIMIT = 600
START_RETRY_SECONDS = 30
START_MAX_RETRIES = 120  # an hour of database outage

_EVAL_OPTIONS: dict[str, Any] = {
    "acks_late": True,
    "reject_on_worker_lost": True,
    "time_limit": EVAL_TIME_LIMIT,
    "soft_time_limit": EVAL_SOFT_TIME_LIMIT,
    "serializer": "json",
    "ignore_result": True,
}
_CONTROL_OPTIONS: dict[str, Any] = {
    **_EVAL_OPTIONS,
    "time_limit": CONTROL_TIME_LIMIT,
    "soft_time_limit": CONTROL_TIME_LIMIT - 30,
}


def worker_label(hostname: str | None, pid: int | None = None) -> str:
    """``<celery node name>/<pid>``: which process holds an attempt."""
    return f"{hostname or socket.gethostname()}/{pid or os.getpid()}"


class _ReleaseOnWorkerLost(Request):
    """The request as the worker's main process sees it; ``release`` hands back a dead child's attempt.

    When a pool process dies mid-task (OOM killer, SIGKILL, a crash in native
    code) the main process gets ``WorkerLostError`` here, and with
    ``acks_late`` + ``reject_on_worker_lost`` puts the message back on the
    queue. The attempt that process held is first released in the database,
    so the redelivery starts a new attempt at once instead of finding the
    candidate "running" until the heartbeat timeout.
    """

    release: Callable[..., bool]

    def on_failure(self, exc_info: ExceptionInfo, send_failed_event: bool = True, return_ok: bool = False) -> None:
        exc = exc_info.exception
        if isinstance(exc, ExceptionWithTraceback):
            exc = exc.exc
        if isinstance(exc, WorkerLostError) and self.worker_pid and self.args:
            self._release(int(self.args[0]), worker_label(self.hostname, self.worker_pid))
        return super().on_failure(exc_info, send_failed_event=send_failed_event, return_ok=return_ok)

    def _release(self, row_id: int, worker: str) -> None:
        from django.db import connections

        try:
            released = type(self).release(row_id, worker)
            log.warning("%s %s: worker process %s died; %s", self.task_name, row_id, worker,
                        "its attempt is queued again" if released else "it held no running attempt")
        except Exception:  # the reaper still recovers it after the heartbeat timeout
            log.exception("could not release the attempt of %s %s held by %s", self.task_name, row_id, worker)
        finally:
            # This is the pool's parent: never let a forked child inherit a database connection.
            connections.close_all()


def _release_candidate(candidate_id: int, worker: str) -> bool:
    from webapp.services import candidate_release_lost_worker

    return candidate_release_lost_worker(candidate_id=candidate_id, worker=worker)


def _release_rerank_job(job_id: int, worker: str) -> bool:
    from webapp.services import rerank_job_release_lost_worker

    return rerank_job_release_lost_worker(job_id=job_id, worker=worker)


class EvaluationRequest(_ReleaseOnWorkerLost):
    release = staticmethod(_release_candidate)


class RerankRequest(_ReleaseOnWorkerLost):
    release = staticmethod(_release_rerank_job)


def failure_result(reason: str, message: str, device: str) -> dict:
    """An ``EvalResult.to_dict()``-shaped failure for when the engine itself raised (the message's
    last 4,000 characters)."""
    from webapp.services.results import failed_result

    return failed_result(reason=reason, message=message[-4000:], device=device)


def host_eval_config(eval_config: dict) -> dict:
    """The search's eval config with this host's data folder (``LAB_DATA_DIR``).

    Always the host's: a folder stored with a search (any written before the
    API refused them) is ignored, so no client ever picks what a worker reads.
    """
    return {**eval_config, "data_dir": str(settings.LAB_DATA_DIR)}


def internal_failure(what: str, device: str) -> dict:
    """A failure the engine raised: the traceback goes to this worker's log, the user sees plain words."""
    log.exception("%s raised", what)
    exc = sys.exc_info()[1]
    return failure_result("error", f"{type(exc).__name__}: {exc}"[:2000], device)


def _retrying(call: Callable[[], Any], *, what: str, tries: int = 5, delay: float = 1.0) -> Any:
    """Run ``call``, retrying a few times: a result took minutes of GPU time, keep it through a DB hiccup."""
    from django.db import close_old_connections

    for attempt in range(1, tries + 1):
        try:
            return call()
        except Exception:
            if attempt == tries:
                raise
            log.warning("%s failed (try %d of %d); retrying", what, attempt, tries, exc_info=True)
            close_old_connections()
            time.sleep(delay * attempt)
    return None


def _start_or_retry(task: Task, start: Callable[[], Any]) -> Any:
    """Begin an attempt; if the database stays unreachable, put the task back for later.

    Giving up would ack the message and leave the candidate queued with no
    task to run it, so a database outage is waited out instead.
    """
    from django.db import DatabaseError

    try:
        return _retrying(start, what="starting an attempt", tries=3)
    except DatabaseError as exc:
        raise task.retry(exc=exc, countdown=START_RETRY_SECONDS, max_retries=START_MAX_RETRIES) from exc


def _device_or_retry(task: Task) -> str:
    """This worker's device; a host that cannot provide it hands the task back for another worker."""
    try:
        return resolve_device(settings.LAB_DEVICE)
    except RuntimeError as exc:  # LAB_DEVICE=cuda on a host without a usable GPU
        log.error("this worker cannot evaluate: %s; handing the task back", exc)
        raise task.retry(exc=exc, countdown=START_RETRY_SECONDS, max_retries=START_MAX_RETRIES) from exc


def guarded(what: str, device: str, call: Callable[[], dict]) -> dict:
    """Run one engine call on ``device``; never raises: the soft time limit or any exception (an
    engine that cannot even be imported too) becomes a failed result, and GPU memory is released."""
    try:
        return call()
    except SoftTimeLimitExceeded:
        return failure_result("error", f"time limit of {EVAL_SOFT_TIME_LIMIT} s exceeded", device)
    except Exception:
        return internal_failure(what, device)
    finally:
        _release_gpu_memory(device)


def run_evaluation(job: Any, *, device: str, should_stop: Callable[[], bool], progress: Callable[[dict], None]) -> dict:
    """Evaluate the job's graph with the engine; never raises (failures become results)."""

    def call() -> dict:
        from search_engine.config import EvalConfig
        from search_engine.graph import LayerGraph

        evaluate = importlib.import_module("search_engine.evaluate").evaluate
        graph = LayerGraph.from_dict(job.document)
        config = EvalConfig.from_dict(host_eval_config(job.eval_config))
        result = evaluate(graph, config, seed=job.seed, device=device, progress=progress, should_stop=should_stop)
        return result.to_dict()

    return guarded(f"evaluation of candidate {job.candidate_id}", device, call)


def _release_gpu_memory(device: str) -> None:
    if device.startswith("cuda"):
        import torch

        torch.cuda.empty_cache()


def run_attempt(
    task: Task,
    *,
    what: str,
    heartbeat_name: str,
    start: Callable[[str], Any],
    beat: Callable[[int], bool],
    work: Callable[[Any, str, Heartbeat], dict],
    record: Callable[[int, dict], bool],
) -> None:
    """The once-only protocol of an eval-queue task (evaluations and rerank jobs alike).

    Find this worker's device (or hand the task back), ``start(worker)`` an attempt (retried
    through a database outage; None: nothing to run), ``work(job, device, heartbeat)`` while a
    heartbeat thread calls ``beat(attempt)``, then ``record(attempt, result)``, retried a few
    times: a result took minutes of GPU time.
    """
    device = _device_or_retry(task)
    job = _start_or_retry(task, lambda: start(worker_label(task.request.hostname)))
    if job is None:
        log.info("%s is not runnable; nothing to do", what)
        return
    attempt = job.attempt
    with Heartbeat(lambda: beat(attempt), interval=settings.LAB_HEARTBEAT_SECONDS, name=heartbeat_name) as heartbeat:
        result = work(job, device, heartbeat)
    recorded = _retrying(lambda: record(attempt, result), what=f"recording {what}")
    log.info("%s attempt %s: %s (%s)", what, attempt, result.get("status") or "done",
             "recorded" if recorded else "ignored: superseded or already recorded")


@app.task(bind=True, name=TASK_EVALUATE, Request=EvaluationRequest, **_EVAL_OPTIONS)
def evaluate_candidate(self: Task, candidate_id: int) -> None:
    """Evaluate one candidate: start an attempt, train with heartbeats, record the result once."""
    from webapp.services import (
        candidate_heartbeat,
        candidate_progress,
        candidate_record_result,
        candidate_start,
    )

    def evaluate(job: Any, device: str, heartbeat: Heartbeat) -> dict:
        def progress(update: dict) -> None:
            try:
                candidate_progress(candidate_id=candidate_id, attempt=job.attempt, progress=update)
            except Exception:  # progress is decoration; never let it end a training run
                log.debug("progress push failed", exc_info=True)

        return run_evaluation(job, device=device, should_stop=heartbeat.should_stop, progress=progress)

    run_attempt(
        self,
        what=f"candidate {candidate_id}",
        heartbeat_name=f"heartbeat-{candidate_id}",
        start=lambda worker: candidate_start(candidate_id=candidate_id, worker=worker),
        beat=lambda attempt: candidate_heartbeat(candidate_id=candidate_id, attempt=attempt),
        work=evaluate,
        record=lambda attempt, result: candidate_record_result(
            candidate_id=candidate_id, attempt=attempt, result=result),
    )


def run_rerank(work: Any, *, device: str) -> dict:
    """Retrain one top candidate over several seeds; never raises (failures become results)."""

    def call() -> dict:
        from search_engine.config import EvalConfig
        from search_engine.graph import LayerGraph

        rerank = importlib.import_module("search_engine.evaluate").rerank
        graph = LayerGraph.from_dict(work.document)
        config = EvalConfig.from_dict(host_eval_config(work.eval_config))
        ranking = rerank([graph], config, seeds=work.seeds, steps=work.steps, device=device)
        return dict(ranking[0]) if ranking else failure_result("error", "rerank returned nothing", device)

    return guarded(f"rerank job {work.job_id}", device, call)


@app.task(bind=True, name=TASK_RERANK, Request=RerankRequest, **_EVAL_OPTIONS)
def rerank_candidate(self: Task, job_id: int) -> None:
    """Rerank one top candidate (a ``RerankJob``): same once-only protocol as evaluations."""
    from webapp.services import rerank_job_heartbeat, rerank_job_record_result, rerank_job_start

    run_attempt(
        self,
        what=f"rerank job {job_id}",
        heartbeat_name=f"heartbeat-rerank-{job_id}",
        start=lambda worker: rerank_job_start(job_id=job_id, worker=worker),
        beat=lambda attempt: rerank_job_heartbeat(job_id=job_id, attempt=attempt),
        # rerank() takes no should_stop: a refused heartbeat only means the
        # result will be ignored when recorded.
        work=lambda work, device, _heartbeat: run_rerank(work, device=device),
        record=lambda attempt, result: rerank_job_record_result(job_id=job_id, attempt=attempt, result=result),
    )


@app.task(name=TASK_ADVANCE, **_CONTROL_OPTIONS)
def advance_search(search_id: int) -> None:
    """Let a search take its next steps (tell results, propose and enqueue candidates, finish)."""
    from webapp.services import search_advance

    search_advance(search_id=search_id)


@app.task(name=TASK_REAP, **_CONTROL_OPTIONS)
def reap_stale_candidates() -> int:
    """Requeue candidates whose worker went silent (or mark them lost past the attempt cap)."""
    from webapp.services import candidates_reap_stale

    count = candidates_reap_stale()
    if count:
        log.info("reaper handled %d stale candidate(s)", count)
    return count


@app.task(name=TASK_RECOVER, **_CONTROL_OPTIONS)
def recover_queued_work() -> int:
    """Enqueue queued work again after the control worker (re)connected to the broker."""
    from webapp.services import broker_recover

    sent = broker_recover()
    log.info("broker connection (re)established: %d queued task(s) sent again", sent)
    return sent
