"""Worker-facing services: heartbeats, abort, the reaper and its attempt cap, requeue after broker loss."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.webapp.helpers import event_types, make_search, queued_ids, result
from webapp.models import Candidate, RerankJob, Search
from webapp.services import dispatch
from webapp.services.candidates import (
    candidate_heartbeat,
    candidate_record_result,
    candidate_should_abort,
    candidate_start,
)
from webapp.services.reaper import BROKER_MARKER, candidates_reap_stale
from webapp.services.throttle import redis_client

pytestmark = pytest.mark.django_db



@pytest.fixture(autouse=True)
def broker_marker():
    """Pretend the broker has been up all along unless a test says otherwise."""
    redis_client().set(BROKER_MARKER, "test")
    yield


def later(seconds: float):
    return timezone.now() + timedelta(seconds=seconds)


def test_start_job_carries_what_the_worker_needs(user):
    search = make_search(user)
    cid = queued_ids(search)[0]
    job = candidate_start(candidate_id=cid, worker="host/1")
    assert job.candidate_id == cid and job.attempt == 1 and job.search_id == search.pk and job.seed == 1
    assert job.document["format"] == "layer-graph/1" and job.eval_config["dataset"] == "digits"
    c = Candidate.objects.get(pk=cid)
    assert c.status == "running" and c.worker == "host/1" and c.last_heartbeat and c.started_at
    assert candidate_start(candidate_id=999999, worker="w") is None


def test_heartbeat_and_abort(user):
    search = make_search(user)
    cid = queued_ids(search)[0]
    job = candidate_start(candidate_id=cid, worker="w")
    assert candidate_heartbeat(candidate_id=cid, attempt=job.attempt)
    assert not candidate_should_abort(candidate_id=cid, attempt=job.attempt)
    assert not candidate_heartbeat(candidate_id=cid, attempt=job.attempt + 1)  # superseded
    assert candidate_should_abort(candidate_id=cid, attempt=job.attempt + 1)
    Search.objects.filter(pk=search.pk).update(status="stopping")
    assert not candidate_heartbeat(candidate_id=cid, attempt=job.attempt)
    assert candidate_should_abort(candidate_id=cid, attempt=job.attempt)


def test_reaper_requeues_then_marks_lost(user, settings, sent_tasks, commit):
    settings.LAB_MAX_ATTEMPTS = 2
    settings.LAB_HEARTBEAT_TIMEOUT = 60
    search = make_search(user, parallel=1)
    cid = queued_ids(search)[0]
    candidate_start(candidate_id=cid, worker="w")
    assert candidates_reap_stale(now=later(30)) == 0  # heartbeat still fresh
    with commit():
        assert candidates_reap_stale(now=later(61)) == 1
    c = Candidate.objects.get(pk=cid)
    assert c.status == "queued" and c.attempts == 1
    assert (dispatch.TASK_EVALUATE, [cid], "eval") in sent_tasks
    requeued = search.events.filter(type="candidate.requeued").get()
    assert requeued.payload["candidate_id"] == cid and requeued.payload["attempt"] == 1
    job = candidate_start(candidate_id=cid, worker="w2")
    assert job.attempt == 2
    assert candidates_reap_stale(now=later(61)) == 1
    c.refresh_from_db()
    assert c.status == "lost" and c.rejection_reason == "lost" and "2 attempts" in c.message
    assert "candidate.lost" in event_types(search)
    # the search went on: a new candidate replaced the lost one
    assert len(queued_ids(search)) == 1
    # a late report of the lost attempt is ignored
    assert not candidate_record_result(candidate_id=cid, attempt=2, result=result())


def test_late_result_of_requeued_attempt_is_kept(user, settings):
    settings.LAB_HEARTBEAT_TIMEOUT = 60
    search = make_search(user, parallel=1)
    cid = queued_ids(search)[0]
    job = candidate_start(candidate_id=cid, worker="w")
    candidates_reap_stale(now=later(61))
    assert candidate_record_result(candidate_id=cid, attempt=job.attempt, result=result(score=0.9))
    assert Candidate.objects.get(pk=cid).status == "evaluated"
    assert candidate_start(candidate_id=cid, worker="w2") is None


def test_reaper_reenqueues_queued_work_after_broker_loss(user, sent_tasks, commit):
    search = make_search(user, parallel=2)
    ids = queued_ids(search)
    redis_client().delete(BROKER_MARKER)
    with commit():
        candidates_reap_stale()
    assert sorted(a[0] for _, a, _ in sent_tasks.named(dispatch.TASK_EVALUATE)) == ids
    sent_tasks.clear()
    with commit():
        candidates_reap_stale()
    assert not sent_tasks.named(dispatch.TASK_EVALUATE)  # only once per broker lifetime


def test_reaper_handles_silent_rerank_jobs(user, settings, sent_tasks, commit):
    from webapp.services.rerank import rerank_job_start

    settings.LAB_MAX_ATTEMPTS = 1
    settings.LAB_HEARTBEAT_TIMEOUT = 60
    search = make_search(user, budget=2, parallel=2, rerank_top_k=1)
    for cid in queued_ids(search):
        job = candidate_start(candidate_id=cid, worker="w")
        candidate_record_result(candidate_id=cid, attempt=job.attempt, result=result())
    search.refresh_from_db()
    assert search.stage == "rerank"
    job = RerankJob.objects.get(search=search)
    assert rerank_job_start(job_id=job.pk, worker="w")
    assert candidates_reap_stale(now=later(61)) == 1
    search.refresh_from_db()
    job.refresh_from_db()
    assert job.status == "failed" and search.status == "finished"
    assert search.events.get(type="rerank.finished").payload == {"ranking": []}


def test_real_send_reaches_the_broker_queue(user, monkeypatch):
    """The producer really puts a JSON message for the named task on the ``eval`` list in Redis."""
    import base64
    import json

    from django.db import transaction

    monkeypatch.setattr(dispatch, "sender", dispatch._send)
    client = redis_client()
    queue = "eval"
    before = client.llen(queue)
    with transaction.atomic():
        dispatch.task_enqueue(name=dispatch.TASK_EVALUATE, args=[424242], queue=queue)
        assert client.llen(queue) == before  # nothing before commit
    # pytest-django wraps the test in a transaction: run the callbacks as a commit would
    from django.db import connection

    for _, callback, _ in list(connection.run_on_commit):
        callback()
    connection.run_on_commit.clear()
    raw = client.lrange(queue, 0, -1)
    mine = [m for m in raw if b"424242" in base64.b64decode(json.loads(m)["body"])]
    try:
        assert len(mine) == 1
        message = json.loads(mine[0])
        assert message["headers"]["task"] == dispatch.TASK_EVALUATE
        assert message["content-type"] == "application/json"
        assert json.loads(base64.b64decode(message["body"]))[0] == [424242]
    finally:
        for m in mine:
            client.lrem(queue, 0, m)


def test_silent_worker_of_a_finished_search_is_lost_not_requeued(user, settings):
    settings.LAB_HEARTBEAT_TIMEOUT = 60
    search = make_search(user, parallel=1)
    cid = queued_ids(search)[0]
    candidate_start(candidate_id=cid, worker="w")
    Search.objects.filter(pk=search.pk).update(status="failed")
    assert candidates_reap_stale(now=later(61)) == 1
    c = Candidate.objects.get(pk=cid)
    assert c.status == "lost" and "failed" in c.message


def test_in_flight_quota_ignores_finished_searches(user, settings):
    from webapp.models import UserQuota
    from webapp.services.quotas import quota_in_flight_room

    settings.LAB_QUOTA_IN_FLIGHT = 5
    search = make_search(user, parallel=2)
    quota = UserQuota.objects.get(user=user)
    assert quota_in_flight_room(quota=quota) == 3
    Search.objects.filter(pk=search.pk).update(status="failed")
    assert quota_in_flight_room(quota=quota) == 5
