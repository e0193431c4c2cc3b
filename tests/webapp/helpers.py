"""Test helpers: make searches through the services and play the worker's part."""

from __future__ import annotations

from webapp.models import Candidate, CandidateStatus, Event, Search
from webapp.services import searches as search_svc
from webapp.services.candidates import candidate_record_result, candidate_start


def preset_architectures(preset: str = "cpu-quick") -> tuple[str, ...]:
    from search_engine.presets import get_preset

    return tuple(get_preset(preset).eval.architectures)


def small_overrides(**extra) -> dict:
    base = {"budget": 8, "parallel": 2, "population_size": 4, "tournament_size": 2, "rerank_top_k": 2,
            "rerank_keep": 1}
    base.update(extra)
    return base


def make_search(owner, *, name: str = "s", **overrides) -> Search:
    return search_svc.search_create(owner=owner, name=name, preset="cpu-quick", overrides=small_overrides(**overrides),
                                    seed=1)


def result(status: str = "evaluated", *, score: float = 0.5, reason: str | None = None, curve_points: int = 3) -> dict:
    archs = preset_architectures()
    scores = {a: min(1.0, score + i * 0.01) for i, a in enumerate(archs)} if status == "evaluated" else {}
    return {
        "status": status,
        "rejection_reason": reason,
        "message": "",
        "scores": scores,
        "curves": {a: [{"step": s, "loss": 1.0 / (s + 1), "accuracy": score} for s in range(curve_points)]
                   for a in scores},
        "timings": {"total": 1.5},
        "device": "cpu",
    }


def run_one(candidate_id: int, res: dict | None = None, worker: str = "w1/1") -> bool:
    job = candidate_start(candidate_id=candidate_id, worker=worker)
    assert job is not None, f"candidate {candidate_id} not runnable"
    return candidate_record_result(candidate_id=candidate_id, attempt=job.attempt, result=res or result())


def queued_ids(search: Search) -> list[int]:
    return list(Candidate.objects.filter(search=search, status=CandidateStatus.QUEUED).order_by("id")
                .values_list("id", flat=True))


def event_types(search: Search) -> list[str]:
    return list(Event.objects.filter(search=search).order_by("seq").values_list("type", flat=True))


def assert_gap_free(search: Search) -> None:
    seqs = list(Event.objects.filter(search=search).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    search.refresh_from_db()
    assert search.last_seq == len(seqs)
