"""``POST /api/searches/estimate``: what runs at once on this lab, and how long, from measured costs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache

from tests.webapp.helpers import make_search, queued_ids, result, run_one
from webapp.models import Candidate
from webapp.selectors import estimates
from webapp.services import dispatch

pytestmark = pytest.mark.django_db

SMALL = {"budget": 6, "parallel": 2, "population_size": 4, "tournament_size": 2, "rerank_top_k": 0,
         "rerank_keep": 0}


@pytest.fixture
def workers(monkeypatch):
    """The eval workers that answer the broker's roll call: ``workers.set({"eval-1@h": 2})``."""
    online: dict[str, int] = {}

    class Roll:
        asked = 0

        def set(self, nodes: dict[str, int]) -> None:
            online.clear()
            online.update(nodes)
            cache.delete(estimates.CAPACITY_CACHE_KEY)

    roll = Roll()

    def inspector(timeout: float) -> dict[str, int]:
        roll.asked += 1
        return dict(online)

    monkeypatch.setattr(dispatch, "eval_inspector", inspector)
    cache.delete(estimates.CAPACITY_CACHE_KEY)
    return roll


def _finish_with_wall_seconds(user, seconds: list[float], *, results: list[dict] | None = None,
                              **overrides) -> None:
    """A search whose candidates took these wall times on the workers (and gave these results)."""
    search = make_search(user, **{**SMALL, **overrides})
    for i, wall in enumerate(seconds):
        cid = queued_ids(search)[0]
        run_one(cid, results[i] if results else result())
        c = Candidate.objects.get(pk=cid)
        Candidate.objects.filter(pk=cid).update(finished_at=c.started_at + timedelta(seconds=wall))


def test_capacity_below_what_the_config_asks_is_said_plainly(api, workers):
    workers.set({"eval-1@host": 1})
    r = api.post_json("/api/searches/estimate", {"preset": "cpu-quick", "overrides": SMALL})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["capacity"] == {"slots": 1, "workers": [{"name": "eval-1@host", "slots": 1}]}
    assert (body["parallel"], body["at_once"], body["budget"]) == (2, 1, 6)
    # nothing has run on this lab with these settings: no number is made up
    assert body["cost"]["kind"] == "none" and body["total_seconds"] is None


def test_time_comes_from_what_candidates_cost_on_this_lab(api, user, workers):
    workers.set({"eval-1@host": 2})
    _finish_with_wall_seconds(user, [30.0, 50.0])
    body = api.post_json("/api/searches/estimate", {"preset": "cpu-quick", "overrides": SMALL}).json()
    assert body["cost"]["kind"] == "exact" and body["cost"]["candidates"] == 2
    assert body["cost"]["seconds"] == pytest.approx(40.0, abs=0.01)
    assert body["at_once"] == 2
    assert body["total_seconds"] == pytest.approx(3 * 40.0, abs=0.05)  # 6 candidates, 2 at a time


def test_unstable_candidates_cost_time_but_no_budget(api, user, workers):
    """The budget counts candidates that reach training: an unstable one's time
    is shared out over them, so a slot costs (10 + 30 + 50) / 2."""
    workers.set({"eval-1@host": 2})
    unstable = result("rejected", reason="unstable")
    _finish_with_wall_seconds(user, [10.0, 30.0, 50.0], results=[unstable, result(), result()])
    body = api.post_json("/api/searches/estimate", {"preset": "cpu-quick", "overrides": SMALL}).json()
    assert body["cost"]["candidates"] == 3
    assert body["cost"]["seconds"] == pytest.approx(45.0, abs=0.01)
    assert body["total_seconds"] == pytest.approx(3 * 45.0, abs=0.05)


def test_another_number_of_steps_is_scaled_and_labelled(api, user, workers):
    workers.set({"eval-1@host": 1})
    _finish_with_wall_seconds(user, [20.0], eval={"steps": 100, "quality_steps": 50})
    over = {**SMALL, "eval": {"steps": 200, "quality_steps": 50}}
    body = api.post_json("/api/searches/estimate", {"preset": "cpu-quick", "overrides": over}).json()
    assert body["cost"]["kind"] == "scaled" and body["cost"]["steps_from"] == 100
    assert body["cost"]["seconds"] == pytest.approx(40.0, abs=0.01)


def test_the_roll_call_is_cached_and_a_bad_config_is_a_400(api, workers):
    workers.set({"eval-1@host": 2})
    for _ in range(3):
        assert api.post_json("/api/searches/estimate", {"preset": "cpu-quick"}).status_code == 200
    assert workers.asked == 1
    r = api.post_json("/api/searches/estimate", {"preset": "cpu-quick", "overrides": {"budget": 0}})
    assert r.status_code == 400 and r.json()["error"]["field"] == "budget"
    assert api.post_json("/api/searches/estimate", {"preset": "nope"}).status_code == 400
