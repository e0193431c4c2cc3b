"""The tasks through a real Celery worker and the real broker: exactly-once recording, heartbeats, abort, reaper."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.utils import timezone
from pytest_django.fixtures import Settings as SettingsWrapper

from search_engine.graph import LayerGraph
from tests.workers.conftest import (
    FakeEngine,
    Finished,
    Progress,
    StopCheck,
    evaluated,
    real_worker,
    wait_for,
)
from webapp.models import Candidate, Event, RerankJob, Search
from webapp.services import EvaluationJob, candidate_start
from webapp.services.searches import search_create, search_stop
from workers.celery_app import TASK_EVALUATE, TASK_REAP, app

pytestmark = pytest.mark.django_db(transaction=True)

SMALL = {"budget": 3, "parallel": 1, "population_size": 4, "tournament_size": 2, "rerank_top_k": 0, "rerank_keep": 0}


def _search(user: User, **overrides: object) -> Search:
    return search_create(owner=user, name="t", preset="cpu-quick", overrides={**SMALL, **overrides}, seed=7)


def _finished(search: Search, timeout: float = 60) -> Search:
    def done() -> Search | None:
        search.refresh_from_db()
        return search if search.status in ("finished", "failed") else None

    return wait_for(done, timeout=timeout, what=f"search {search.pk} to finish")


def _events(search: Search) -> list[Event]:
    return list(Event.objects.filter(search=search).order_by("seq"))


def _assert_each_recorded_once(search: Search) -> None:
    events = _events(search)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    finished = [e.payload["candidate"]["id"] for e in events if e.type == "candidate.finished"]
    assert sorted(finished) == sorted(set(finished)), "a candidate was recorded twice"
    ids = set(Candidate.objects.filter(search=search).values_list("id", flat=True))
    assert set(finished) | {e.payload["candidate_id"] for e in events if e.type == "candidate.lost"} == ids


def test_a_search_runs_to_the_end_and_a_duplicate_delivery_changes_nothing(
    django_user_model: type[User], celery_worker: Finished, engine: FakeEngine,
) -> None:
    user = django_user_model.objects.create_user("w1", password="pw-123456")
    search = _finished(_search(user))
    assert search.status == "finished"
    candidates = list(Candidate.objects.filter(search=search))
    assert len(candidates) == 3 and all(c.status == "evaluated" and c.attempts == 1 for c in candidates)
    assert all(c.worker.endswith(f"/{os.getpid()}") for c in candidates)  # "<node>/<pid>" of the worker
    assert len(engine.calls) == 3 and engine.devices == ["cpu"] * 3
    assert engine.data_dirs == [str(settings.LAB_DATA_DIR)] * 3  # the worker host's data folder
    events_before = len(_events(search))
    done = celery_worker.count("evaluate_candidate")

    for c in candidates:  # the broker delivers each message a second time
        app.send_task(TASK_EVALUATE, args=[c.pk], queue="eval")
    celery_worker.wait("evaluate_candidate", done + 3)

    assert len(engine.calls) == 3
    assert len(_events(search)) == events_before
    assert all(c.attempts == 1 for c in Candidate.objects.filter(search=search))
    _assert_each_recorded_once(search)


def test_heartbeats_keep_a_long_evaluation_alive_and_progress_is_pushed(
    django_user_model: type[User], celery_worker: Finished, engine: FakeEngine, settings: SettingsWrapper,
) -> None:
    beats: list = []

    def slow(graph: LayerGraph, should_stop: StopCheck, progress: Progress) -> dict:
        for step in range(5):
            progress({"arch": "resnet50", "stage": "train", "step": step, "total": 5, "loss": 1.0, "accuracy": 0.1})
            time.sleep(0.3)
            beats.append(Candidate.objects.filter(status="running").values_list("last_heartbeat", flat=True).first())
        return evaluated()

    engine.behaviour = slow
    user = django_user_model.objects.create_user("w2", password="pw-123456")
    search = _finished(_search(user, budget=1))
    assert search.status == "finished"
    fresh = [b for b in beats if b is not None]
    assert len(set(fresh)) >= 3, "the heartbeat did not move while training"


def test_stopping_the_search_aborts_the_running_evaluation(
    django_user_model: type[User], celery_worker: Finished, engine: FakeEngine,
) -> None:
    seen = {"stopped": False}

    def until_stopped(graph: LayerGraph, should_stop: StopCheck, progress: Progress) -> dict:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if should_stop():
                seen["stopped"] = True
                return {"status": "failed", "rejection_reason": "stopped", "message": "stopped", "scores": {},
                        "curves": {}, "timings": {}, "device": "cpu"}
            time.sleep(0.05)
        return evaluated()

    engine.behaviour = until_stopped
    user = django_user_model.objects.create_user("w3", password="pw-123456")
    search = _search(user, budget=2)
    wait_for(lambda: Candidate.objects.filter(search=search, status="running").exists(), what="a running candidate")
    search_stop(owner=user, search_id=search.pk)
    search.refresh_from_db()
    assert search.status == "stopped" and search.status_reason == "stopped by its owner"
    wait_for(lambda: seen["stopped"], what="the worker to hear the stop")
    # abandoned at once; the worker's late report is ignored
    assert list(Candidate.objects.filter(search=search).values_list("status", "rejection_reason")) == [
        ("cancelled", "stopped")]
    _assert_each_recorded_once(search)


def test_an_engine_exception_is_recorded_as_a_failure_not_lost(
    django_user_model: type[User], celery_worker: Finished, engine: FakeEngine,
) -> None:
    def broken(graph: LayerGraph, should_stop: StopCheck, progress: Progress) -> dict:
        raise RuntimeError("CUDA error: an illegal memory access")

    engine.behaviour = broken
    user = django_user_model.objects.create_user("w4", password="pw-123456")
    search = _finished(_search(user, budget=2))
    rows = list(Candidate.objects.filter(search=search).values_list("status", "rejection_reason", "message"))
    assert len(rows) == 2
    assert all(s == "failed" and r == "error" and "illegal memory access" in m for s, r, m in rows)
    _assert_each_recorded_once(search)


def test_the_reaper_requeues_a_silent_attempt_which_is_then_evaluated_once(
    django_user_model: type[User], broker: None, transactional_db: None, engine: FakeEngine, settings: SettingsWrapper,
) -> None:
    settings.LAB_HEARTBEAT_TIMEOUT = 5
    app.control.purge()
    user = django_user_model.objects.create_user("w5", password="pw-123456")
    search = _search(user, budget=1)
    candidate = Candidate.objects.get(search=search)
    # A worker took it and died without a word: its message is gone, its heartbeat is old.
    app.control.purge()
    job = candidate_start(candidate_id=candidate.pk, worker="ghost@host/1")
    Candidate.objects.filter(pk=candidate.pk).update(last_heartbeat=timezone.now() - timedelta(seconds=60))
    # The worker starts only now, so the ghost's attempt is the one the reaper finds.
    with real_worker():
        app.send_task(TASK_REAP, args=[], queue="control")
        search = _finished(search)
    candidate.refresh_from_db()
    assert job.attempt == 1 and candidate.attempts == 2 and candidate.status == "evaluated"
    types = [e.type for e in _events(search)]
    assert types.count("candidate.requeued") == 1 and types.count("candidate.started") == 2
    assert len(engine.calls) == 1
    _assert_each_recorded_once(search)


def test_past_the_attempt_cap_the_reaper_marks_the_candidate_lost(
    django_user_model: type[User], celery_worker: Finished, engine: FakeEngine, settings: SettingsWrapper,
) -> None:
    settings.LAB_HEARTBEAT_TIMEOUT = 5
    settings.LAB_MAX_ATTEMPTS = 1
    stopped = {"seen": False}

    def silent(graph: LayerGraph, should_stop: StopCheck, progress: Progress) -> dict:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not should_stop():
            time.sleep(0.05)
        stopped["seen"] = should_stop()
        return evaluated()

    engine.behaviour = silent
    user = django_user_model.objects.create_user("w6", password="pw-123456")
    search = _search(user, budget=1)
    # Hold the candidate as a silent worker would, before the real worker gets it.
    candidate = Candidate.objects.get(search=search)
    wait_for(lambda: Candidate.objects.filter(pk=candidate.pk, status="running").exists(), what="start")
    Candidate.objects.filter(pk=candidate.pk).update(last_heartbeat=timezone.now() - timedelta(seconds=600))
    from webapp.services import candidates_reap_stale

    assert candidates_reap_stale() == 1
    candidate.refresh_from_db()
    assert candidate.status == "lost" and "1 attempts" in candidate.message
    assert [e.type for e in _events(search)].count("candidate.lost") == 1
    # The worker still training learns from its next heartbeat that the attempt is over.
    wait_for(lambda: stopped["seen"], what="the worker to give up")
    search = _finished(search)
    candidate.refresh_from_db()
    assert candidate.status == "lost"  # its late result is ignored
    _assert_each_recorded_once(search)


def test_rerank_jobs_run_on_the_eval_queue(
    django_user_model: type[User], celery_worker: Finished, engine: FakeEngine,
) -> None:
    user = django_user_model.objects.create_user("w7", password="pw-123456")
    search = _finished(_search(user, budget=2, rerank_top_k=1, rerank_keep=1, rerank_seeds=2))
    assert search.status == "finished"
    job = RerankJob.objects.get(search=search)
    assert job.status == "done" and job.mean_score == pytest.approx(0.7) and job.attempts == 1
    assert engine.calls.count("rerank") == 1
    assert [e.type for e in _events(search)].count("rerank.finished") == 1


def test_a_database_outage_at_start_puts_the_task_back_instead_of_dropping_it(
    django_user_model: type[User], celery_worker: Finished, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    from django.db import OperationalError

    import webapp.services
    from workers import tasks

    real_start = webapp.services.candidate_start
    failures = {"left": 4}  # more than one round of in-task retries

    def flaky_start(**kwargs: Any) -> EvaluationJob | None:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("could not connect to server")
        return real_start(**kwargs)

    monkeypatch.setattr(webapp.services, "candidate_start", flaky_start)
    monkeypatch.setattr(tasks, "START_RETRY_SECONDS", 0.1)
    user = django_user_model.objects.create_user("w8", password="pw-123456")
    search = _finished(_search(user, budget=1))
    assert failures["left"] == 0
    assert list(Candidate.objects.filter(search=search).values_list("status", "attempts")) == [("evaluated", 1)]
    celery_worker.wait("evaluate_candidate", 2)  # the first run handed over to a retry
    _assert_each_recorded_once(search)


def test_a_worker_without_its_device_hands_the_candidate_back_untouched(
    django_user_model: type[User], celery_worker: Finished, engine: FakeEngine, monkeypatch: pytest.MonkeyPatch, settings: SettingsWrapper,
) -> None:
    from workers import tasks

    settings.LAB_DEVICE = "cuda:7"  # no such GPU here
    monkeypatch.setattr(tasks, "START_RETRY_SECONDS", 0.2)
    user = django_user_model.objects.create_user("w9", password="pw-123456")
    search = _search(user, budget=1)
    celery_worker.wait("evaluate_candidate", 2)  # tried, handed back, tried again
    candidate = Candidate.objects.get(search=search)
    assert candidate.status == "queued" and candidate.attempts == 0 and engine.calls == []
    settings.LAB_DEVICE = "cpu"  # a healthy worker takes the retried task
    search = _finished(search)
    assert list(Candidate.objects.filter(search=search).values_list("status", "attempts")) == [("evaluated", 1)]


def test_queued_work_whose_messages_the_broker_lost_runs_as_soon_as_a_control_worker_connects(
    django_user_model: type[User], broker: None, transactional_db: None, engine: FakeEngine,
) -> None:
    """Issue 11, item 4: no beat, no reaper: the worker's (re)connection to the broker recovers queued work."""
    user = django_user_model.objects.create_user("lost", password="pw-123456")
    search = _search(user)
    assert Candidate.objects.filter(search=search, status="queued").exists()
    app.control.purge()  # Redis restarted empty: the candidates' messages are gone
    with real_worker() as finished:  # no beat here: nothing else would ever enqueue them again
        finished.wait("recover_queued_work", 1)
        search = _finished(search)
    assert search.status == "finished"
    assert all(c.status == "evaluated" for c in Candidate.objects.filter(search=search))
    _assert_each_recorded_once(search)
