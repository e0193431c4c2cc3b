"""Search lifecycle through the services, playing the worker's part by hand."""

from __future__ import annotations

import pytest

from search_engine.evolution import FUNNEL_KEYS
from tests.webapp.helpers import (
    assert_gap_free,
    event_types,
    make_search,
    queued_ids,
    result,
    run_one,
)
from webapp.errors import InvalidInput, InvalidState, NotFound, QuotaExceeded
from webapp.models import Candidate, CandidateStatus, Event, RerankJob, Search
from webapp.services import dispatch
from webapp.services.candidates import candidate_heartbeat, candidate_record_result, candidate_start
from webapp.services.rerank import rerank_job_record_result, rerank_job_start
from webapp.services.searches import search_clone, search_control, search_create

pytestmark = pytest.mark.django_db



def test_create_proposes_parallel_candidates_and_enqueues(user, sent_tasks, commit):
    with commit():
        search = make_search(user, parallel=3)
    assert search.status == "running" and search.stage == "evolution"
    ids = queued_ids(search)
    assert len(ids) == 3
    assert sent_tasks.named(dispatch.TASK_EVALUATE) == [(dispatch.TASK_EVALUATE, [i], "eval") for i in ids]
    assert event_types(search)[:2] == ["search.status", "search.status"]
    assert event_types(search).count("candidate.created") == 3
    assert search.counts["queued"] == 3 and search.proposed == 3
    assert_gap_free(search)


def run_to_end(search: Search) -> None:
    score = 0.3
    for _ in range(100):
        search.refresh_from_db()
        if search.stage != "evolution":
            return
        ids = queued_ids(search)
        assert ids, "nothing queued while evolution is not finished"
        score += 0.01
        run_one(ids[0], result(score=score))


def test_full_search_reaches_rerank_then_finishes(user, sent_tasks, commit):
    with commit():
        search = make_search(user)
        run_to_end(search)
    search.refresh_from_db()
    assert search.stage == "rerank" and search.status == "running"
    assert Candidate.objects.filter(search=search).count() == 8
    assert search.counts["evaluated"] == 8 and search.counts["queued"] == 0
    jobs = list(RerankJob.objects.filter(search=search))
    assert len(jobs) == 2
    assert sorted(a[0] for _, a, _ in sent_tasks.named(dispatch.TASK_RERANK)) == sorted(j.pk for j in jobs)
    best = Candidate.objects.filter(search=search).order_by("-mean_score").first()
    assert search.best_candidate_id == best.pk
    for i, job in enumerate(jobs):
        work = rerank_job_start(job_id=job.pk, worker="w")
        assert work is not None and work.steps > 0 and work.seeds
        assert rerank_job_start(job_id=job.pk, worker="w") is None  # one attempt at a time
        assert rerank_job_record_result(job_id=job.pk, attempt=work.attempt,
                                        result={"mean": 0.5 + i, "scores": {"any_arch": [0.5 + i]}})
        assert not rerank_job_record_result(job_id=job.pk, attempt=work.attempt, result={"mean": 0.1})
    search.refresh_from_db()
    assert search.status == "finished" and search.stage == "done" and search.finished_at
    assert search.status_reason == "budget of 8 candidates spent; top 2 re-ranked"
    types = event_types(search)
    assert types[-2:] == ["rerank.finished", "search.status"]
    ranking = search.events.get(type="rerank.finished").payload["ranking"]
    assert [r["candidate_id"] for r in ranking] == [jobs[1].candidate_id]  # rerank_keep = 1
    assert "population.changed" in types
    assert_gap_free(search)


def test_population_ages_out(user):
    """Each newcomer past the population size pushes out the oldest member, not any member."""
    search = make_search(user, budget=8, population_size=2, parallel=1)
    run_to_end(search)
    population: list[int] = []  # oldest first, replayed from the events
    removals = 0
    for event in search.events.filter(type="population.changed").order_by("seq"):
        added, removed = event.payload["added"], event.payload["removed"]
        assert added is not None
        population.append(added)
        if removed:
            assert removed == [population[0]], (removed, population)  # the oldest left
            population.pop(0)
            removals += 1
        assert len(population) <= 2
    # 8 evaluated candidates through a population of 2: all but the first two pushed one out
    assert removals == 8 - 2
    assert population == list(Candidate.objects.filter(search=search).order_by("-id")
                              .values_list("id", flat=True)[:2])[::-1]


def test_record_result_is_idempotent(user):
    search = make_search(user)
    cid = queued_ids(search)[0]
    job = candidate_start(candidate_id=cid, worker="w")
    assert candidate_start(candidate_id=cid, worker="w2") is None
    assert candidate_record_result(candidate_id=cid, attempt=job.attempt, result=result(score=0.7))
    before = Candidate.objects.get(pk=cid)
    n_events = search.events.count()
    assert not candidate_record_result(candidate_id=cid, attempt=job.attempt, result=result(score=0.1))
    assert not candidate_record_result(candidate_id=cid, attempt=job.attempt + 1, result=result(score=0.1))
    after = Candidate.objects.get(pk=cid)
    assert after.mean_score == before.mean_score and search.events.count() == n_events


def test_malformed_results_become_failures(user):
    search = make_search(user)
    cid = queued_ids(search)[0]
    job = candidate_start(candidate_id=cid, worker="w")
    assert candidate_record_result(candidate_id=cid, attempt=job.attempt, result={"status": "bogus"})
    c = Candidate.objects.get(pk=cid)
    assert c.status == "failed" and c.rejection_reason == "error" and c.mean_score is None


def test_curves_are_downsampled_and_nonfinite_scrubbed(user):
    search = make_search(user)
    cid = queued_ids(search)[0]
    res = result(curve_points=1000)
    res["timings"] = {"total": float("nan")}
    run_one(cid, res)
    c = Candidate.objects.get(pk=cid)
    assert all(len(points) == 200 for points in c.curves.values())
    arch = next(iter(c.curves))
    assert c.curves[arch][0]["step"] == 0 and c.curves[arch][-1]["step"] == 999
    assert c.timings == {"total": None}


def test_rejected_and_failed_count_toward_budget_but_unstable_ones_do_not(user):
    search = make_search(user, budget=4)
    kinds = [result("rejected", reason="low_quality"), result("failed", reason="error"),
             result("rejected", reason="unstable")]
    for i in range(5):
        search.refresh_from_db()
        run_one(queued_ids(search)[0], kinds[i] if i < 3 else result())
    search.refresh_from_db()
    # 5 finished, the unstable one gave its slot back: 4 slots spent, the evolution is over
    assert search.counts["rejected"] == 2 and search.counts["unstable"] == 1
    assert search.counts["failed"] == 1 and search.counts["evaluated"] == 2
    assert search.stage == "rerank" and not queued_ids(search)


def test_pause_and_resume(user, commit):
    search = make_search(user, parallel=2)
    search_control(owner=user, search_id=search.pk, action="pause")
    run_one(queued_ids(search)[0])
    search.refresh_from_db()
    assert search.status == "paused" and len(queued_ids(search)) == 1  # no new asks while paused
    with pytest.raises(InvalidState):
        search_control(owner=user, search_id=search.pk, action="pause")
    search_control(owner=user, search_id=search.pk, action="resume")
    search.refresh_from_db()
    assert search.status == "running" and len(queued_ids(search)) == 2


def test_stop_takes_effect_at_once_and_cancels_what_did_not_finish(user):
    search = make_search(user, parallel=2)
    first, second = queued_ids(search)
    job = candidate_start(candidate_id=first, worker="w")
    search_control(owner=user, search_id=search.pk, action="stop")
    search.refresh_from_db()
    assert (search.status, search.stage, search.status_reason) == ("stopped", "done", "stopped by its owner")
    assert search.finished_at is not None
    running, waiting = Candidate.objects.get(pk=first), Candidate.objects.get(pk=second)
    # neither is the layer's fault: cancelled, with what happened in the message
    assert (running.status, running.rejection_reason) == ("cancelled", "stopped")
    assert "abandoned" in running.message
    assert (waiting.status, waiting.rejection_reason) == ("cancelled", "stopped")
    assert "never started" in waiting.message
    assert search.counts["cancelled"] == 2 and search.counts["failed"] == 0 and search.counts["running"] == 0
    assert candidate_start(candidate_id=second, worker="w") is None
    assert candidate_heartbeat(candidate_id=first, attempt=job.attempt) is False
    # the abandoned worker's late report changes nothing
    assert not candidate_record_result(candidate_id=first, attempt=job.attempt, result=result())
    assert Candidate.objects.get(pk=first).status == "cancelled"
    finished = [e for e in Event.objects.filter(search=search, type="candidate.finished")]
    assert sorted(e.payload["candidate"]["id"] for e in finished) == [first, second]
    assert not queued_ids(search)
    with pytest.raises(InvalidState):
        search_control(owner=user, search_id=search.pk, action="resume")
    with pytest.raises(InvalidState):
        search_control(owner=user, search_id=search.pk, action="stop")


def test_stop_with_nothing_running_is_stopped_at_once(user):
    search = make_search(user)
    search_control(owner=user, search_id=search.pk, action="stop")
    search.refresh_from_db()
    assert search.status == "stopped"


def test_a_search_that_spends_its_budget_says_so(user, sent_tasks, commit):
    with commit():
        search = make_search(user, rerank_top_k=0, rerank_keep=0)
        run_to_end(search)
    search.refresh_from_db()
    assert (search.status, search.stage) == ("finished", "done")
    assert search.status_reason == "budget of 8 candidates spent"


def test_quota_on_concurrent_searches(user, settings):
    settings.LAB_QUOTA_SEARCHES = 2
    make_search(user)
    make_search(user)
    with pytest.raises(QuotaExceeded):
        make_search(user)
    stopped = Search.objects.filter(owner=user).first()
    search_control(owner=user, search_id=stopped.pk, action="stop")
    make_search(user)  # a finished search frees its slot


def test_quota_on_in_flight_candidates(user, settings, sent_tasks, commit):
    settings.LAB_QUOTA_IN_FLIGHT = 3
    a = make_search(user, parallel=2)
    b = make_search(user, parallel=2)
    assert len(queued_ids(a)) == 2 and len(queued_ids(b)) == 1
    with commit():
        run_one(queued_ids(a)[0])
    # a took its own slot back; b is nudged to use any room left
    assert (dispatch.TASK_ADVANCE, [b.pk], "control") in sent_tasks


def test_clone_seeds_from_best(user):
    search = make_search(user)
    run_to_end(search)
    best = Candidate.objects.filter(search=search).order_by("-mean_score").first()
    clone = search_clone(owner=user, search_id=search.pk, budget=5)
    assert clone.cloned_from_id == search.pk and clone.config["budget"] == 5 and clone.seed == search.seed
    assert clone.seed_documents and clone.seed_documents[0]["nodes"]
    first = Candidate.objects.filter(search=clone).order_by("id").first()
    assert first.mutation == "seed" and first.canonical_hash == best.canonical_hash


def test_bad_inputs_are_invalid_input(user, other_user, s0_doc):
    with pytest.raises(InvalidInput) as err:
        search_create(owner=user, name="x", preset="nope")
    assert err.value.code == "unknown_preset"
    with pytest.raises(InvalidInput) as err:
        search_create(owner=user, name="x", preset="cpu-quick", overrides={"budget": -1})
    assert err.value.field == "budget"
    with pytest.raises(InvalidInput) as err:
        search_create(owner=user, name="x", preset="cpu-quick", overrides={"nope": 1})
    assert err.value.code == "unknown_key"
    with pytest.raises(InvalidInput):
        search_create(owner=user, name="x", preset="cpu-quick", seed_references=["no-such-layer"])
    with pytest.raises(InvalidInput):  # a batch layer cannot seed an S search
        search_create(owner=user, name="x", preset="paper-s", seed_references=["evonorm_b0"])
    from webapp.services.layers import layer_create

    theirs = layer_create(owner=other_user, name="t", document=s0_doc)
    with pytest.raises(NotFound):
        search_create(owner=user, name="x", preset="cpu-quick", seed_layer_ids=[theirs.pk])
    with pytest.raises(InvalidInput):
        search_control(owner=user, search_id=make_search(user).pk, action="explode")


def test_engine_failure_fails_the_search(user, monkeypatch):
    from search_engine.evolution import Evolution, EvolutionError

    search = make_search(user, parallel=2)

    def broken(self):
        raise EvolutionError("no new layers")

    monkeypatch.setattr(Evolution, "ask", broken)
    run_one(queued_ids(search)[0])
    search.refresh_from_db()
    assert search.status == "failed" and "no new layers" in search.status_reason
    assert not queued_ids(search) and search.counts["queued"] == 0  # nothing left to hold the quota
    assert event_types(search)[-1] == "search.status"


def test_wall_time_budget(user):
    from datetime import timedelta

    search = make_search(user, max_wall_seconds=60.0)
    Search.objects.filter(pk=search.pk).update(started_at=search.started_at - timedelta(seconds=120))
    ids = queued_ids(search)
    run_one(ids[0])
    assert len(queued_ids(search)) == 1  # no new asks after the wall time
    run_one(ids[1])
    search.refresh_from_db()
    assert search.stage == "rerank" and search.proposed == 2


def test_seed_layers_are_proposed_first(user, s0_doc):
    from webapp.services.layers import layer_create

    layer = layer_create(owner=user, name="mine", document=s0_doc)
    search = search_create(owner=user, name="x", preset="cpu-quick", seed_layer_ids=[layer.pk],
                           seed_references=["evonorm_b0"], overrides={"budget": 4, "parallel": 2})
    first_two = list(Candidate.objects.filter(search=search).order_by("id"))
    assert [c.mutation for c in first_two] == ["seed", "seed"]
    assert first_two[0].canonical_hash == layer.canonical_hash
    assert CandidateStatus.QUEUED == first_two[0].status


def test_proposals_are_screened_by_the_probe_at_the_search_seed(user, commit):
    """The advance step refuses layers the numeric probe rejects (at the seed the
    workers evaluate with) before they become candidates, and counts them in the
    engine state's funnel."""
    from search_engine.graph import LayerGraph
    from search_engine.rejection import probe_verdict

    with commit():
        search = make_search(user, budget=6, parallel=2)
        run_to_end(search)
    search.refresh_from_db()
    candidates = list(Candidate.objects.filter(search=search))
    assert len(candidates) == 6
    for c in candidates:
        assert probe_verdict(LayerGraph.from_dict(c.document), seed=search.seed).passed, c.formula
    funnel = search.engine_state["funnel"]
    # PostgreSQL's jsonb does not keep key order: compare the keys as a set.
    assert set(funnel) == set(FUNNEL_KEYS)  # state_dict()["funnel"] is Evolution.funnel, in_flight included
    assert funnel["refused_probe"] > 0 and funnel["evaluated"] == 6
    assert funnel["drawn"] == sum(v for k, v in funnel.items() if k != "drawn")


def test_every_funnel_change_is_an_event_in_the_same_transaction(user, commit):
    """``search.funnel`` events follow the stored funnel: the last one equals it, none repeats
    the one before, and the sequence stays gap-free."""
    from webapp.selectors.searches import search_funnel

    with commit():
        search = make_search(user, budget=4, parallel=2)
        run_to_end(search)
    search.refresh_from_db()
    events = list(search.events.filter(type="search.funnel").order_by("seq"))
    assert len(events) >= 3
    funnels = [e.payload["funnel"] for e in events]
    assert funnels[-1] == search_funnel(search.engine_state)
    assert all(a != b for a, b in zip(funnels, funnels[1:], strict=False))
    assert funnels[-1]["evaluated"] == 4 and funnels[-1]["in_flight"] == 0
    assert funnels[0]["in_flight"] == 2
    assert_gap_free(search)
