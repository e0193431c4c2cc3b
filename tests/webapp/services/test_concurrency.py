"""Concurrent writers against the real database: quotas hold and event sequences stay gap-free."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from tests.webapp.helpers import assert_gap_free, make_search, queued_ids, result, run_one
from webapp.errors import QuotaExceeded
from webapp.models import Candidate, Search

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_threads(fn, n: int) -> list:
    """Start ``n`` threads on ``fn`` together; collect what each returned or raised."""
    barrier = threading.Barrier(n)
    outcomes: list = [None] * n

    def target(i: int) -> None:
        try:
            barrier.wait()
            outcomes[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return outcomes


def test_concurrent_creates_cannot_exceed_the_search_quota(user, settings):
    settings.LAB_QUOTA_SEARCHES = 2
    outcomes = run_in_threads(lambda i: make_search(user, name=f"s{i}"), 6)
    created = [o for o in outcomes if isinstance(o, Search)]
    refused = [o for o in outcomes if isinstance(o, QuotaExceeded)]
    assert len(created) == 2 and len(refused) == 4, outcomes
    assert Search.objects.filter(owner=user).count() == 2


def test_concurrent_results_keep_events_gap_free_and_in_flight_bounded(user, settings):
    settings.LAB_QUOTA_IN_FLIGHT = 100
    search = make_search(user, budget=12, parallel=4, population_size=4)
    for _ in range(3):
        ids = queued_ids(search)
        outcomes = run_in_threads(lambda i, ids=ids: run_one(ids[i]), len(ids))
        assert all(o is True for o in outcomes), outcomes
        in_flight = Candidate.objects.filter(search=search, status__in=["queued", "running"]).count()
        assert in_flight <= 4
    search.refresh_from_db()
    assert search.counts["evaluated"] == 12 and search.stage == "rerank"
    assert_gap_free(search)


def test_a_result_recorded_twice_at_once_counts_once(user):
    search = make_search(user, parallel=1)
    from webapp.services.candidates import candidate_record_result, candidate_start

    cid = queued_ids(search)[0]
    job = candidate_start(candidate_id=cid, worker="w")
    outcomes = run_in_threads(
        lambda i: candidate_record_result(candidate_id=cid, attempt=job.attempt, result=result(score=0.1 * (i + 1))),
        4,
    )
    assert sorted(outcomes) == [False, False, False, True]
    search.refresh_from_db()
    assert search.events.filter(type="candidate.finished").count() == 1
    assert search.proposed == 2
    assert_gap_free(search)
