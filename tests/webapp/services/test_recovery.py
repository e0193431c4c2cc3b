"""Issue 11, item 4: work recovered without the reaper's clock: a dead pool process's attempt, and queued
work after the broker (re)connects."""

from __future__ import annotations

import pytest

from tests.webapp.helpers import make_search, queued_ids, run_one
from webapp.models import Candidate, CandidateStatus, Event
from webapp.services import broker_recover, candidate_release_lost_worker
from webapp.services.candidates import candidate_start
from webapp.services.dispatch import TASK_ADVANCE, TASK_EVALUATE

pytestmark = pytest.mark.django_db


def test_a_dead_workers_attempt_is_queued_again_at_once(user, commit, sent_tasks) -> None:
    search = make_search(user, parallel=1)
    candidate_id = queued_ids(search)[0]
    candidate_start(candidate_id=candidate_id, worker="eval-1@h/42")
    sent_tasks.clear()
    with commit():
        assert not candidate_release_lost_worker(candidate_id=candidate_id, worker="eval-1@h/43")  # not its holder
        assert candidate_release_lost_worker(candidate_id=candidate_id, worker="eval-1@h/42")
    candidate = Candidate.objects.get(pk=candidate_id)
    assert candidate.status == CandidateStatus.QUEUED and candidate.attempts == 1
    event = Event.objects.filter(search=search).order_by("-seq").filter(type="candidate.requeued").get()
    assert "eval-1@h/42 died" in event.payload["reason"]
    assert sent_tasks.named(TASK_EVALUATE) == [(TASK_EVALUATE, [candidate_id], "eval")]
    search.refresh_from_db()
    assert search.counts["running"] == 0 and search.counts["queued"] == 1  # never counted twice as running
    # The redelivered task starts attempt 2 right away.
    job = candidate_start(candidate_id=candidate_id, worker="eval-1@h/44")
    assert job is not None and job.attempt == 2
    assert not candidate_release_lost_worker(candidate_id=candidate_id, worker="eval-1@h/42")  # stale


def test_past_the_attempt_cap_a_dead_workers_candidate_is_lost(user, settings) -> None:
    settings.LAB_MAX_ATTEMPTS = 1
    search = make_search(user, parallel=1)
    candidate_id = queued_ids(search)[0]
    candidate_start(candidate_id=candidate_id, worker="w/1")
    assert candidate_release_lost_worker(candidate_id=candidate_id, worker="w/1")
    candidate = Candidate.objects.get(pk=candidate_id)
    assert candidate.status == CandidateStatus.LOST and "w/1 died" in candidate.message


def test_a_finished_candidate_is_left_alone(user) -> None:
    search = make_search(user, parallel=1)
    candidate_id = queued_ids(search)[0]
    run_one(candidate_id, worker="w/1")
    assert not candidate_release_lost_worker(candidate_id=candidate_id, worker="w/1")
    assert Candidate.objects.get(pk=candidate_id).status == CandidateStatus.EVALUATED


def test_broker_recover_enqueues_queued_work_of_working_searches_only(user, make_user, commit, sent_tasks) -> None:
    running = make_search(user, parallel=2)
    other = make_search(make_user("bob"), parallel=2)
    from webapp.services.searches import search_pause, search_stop

    search_stop(owner=other.owner, search_id=other.pk)
    paused = make_search(make_user("carol"), parallel=2)
    search_pause(owner=paused.owner, search_id=paused.pk)
    sent_tasks.clear()
    with commit():
        sent = broker_recover()
    expected = queued_ids(running) + queued_ids(paused)
    assert sent == len(expected) == 4
    assert sorted(args[0] for _name, args, _q in sent_tasks.named(TASK_EVALUATE)) == sorted(expected)
    assert not sent_tasks.named(TASK_ADVANCE)


@pytest.mark.parametrize(("raw", "shown"), [
    ("TypeError: unsupported operand at datasets.py:120", "TypeError: unsupported operand"),
    ("FileNotFoundError: [Errno 2] No such file: '/srv/layerlab/data/cifar-10-batches-py/data_batch_1'",
     "FileNotFoundError: [Errno 2] No such file: '…'"),
    ("RuntimeError: shapes (4, 3) and (2,) do not match", "RuntimeError: shapes (4, 3) and (2,) do not match"),
    ("probe: output is constant for x/y ratios", "probe: output is constant for x/y ratios"),
])
def test_failure_messages_keep_what_went_wrong_and_drop_where_on_the_server(user, raw, shown) -> None:
    """Issue 11, item 1: users see failures in their terms; paths and source lines stay in the server log."""
    from tests.webapp.helpers import result

    search = make_search(user, parallel=1)
    candidate_id = queued_ids(search)[0]
    run_one(candidate_id, {**result("failed", reason="error"), "message": raw})
    assert Candidate.objects.get(pk=candidate_id).message == shown
