"""Search reads, scoped to the owner: summaries, detail with progress figures, Pareto front."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from webapp.errors import InvalidInput, NotFound
from webapp.models import Candidate, CandidateStatus, RerankJob, Search
from webapp.models.candidates import FINISHED_STATUSES
from webapp.selectors.candidates import candidate_summary

THROUGHPUT_WINDOW = timedelta(minutes=15)
MAX_PARETO_POINTS = 5000


def search_owned_exists(*, owner_id: int, search_id: int) -> bool:
    return Search.objects.filter(owner_id=owner_id, pk=search_id).exists()


def search_get(*, owner: AbstractBaseUser, search_id: int) -> Search:
    search = Search.objects.filter(owner=owner, pk=search_id).select_related("best_candidate").first()
    if search is None:
        raise NotFound(f"Search {search_id} not found.")
    return search


def search_list(*, owner: AbstractBaseUser, status: str | None = None) -> QuerySet[Search]:
    qs = Search.objects.filter(owner=owner).select_related("best_candidate").defer("engine_state", "seed_documents")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def search_funnel(engine_state: dict | None) -> dict[str, int] | None:
    """The engine's funnel in ``FUNNEL_KEYS`` order (PostgreSQL's jsonb reorders keys), with
    ``in_flight`` counted from the state's in-flight proposals; None for a state without one."""
    from search_engine.evolution import FUNNEL_KEYS

    stored = (engine_state or {}).get("funnel")
    if not isinstance(stored, dict):
        return None
    in_flight = (engine_state or {}).get("in_flight")
    counts = {**stored, "in_flight": len(in_flight) if isinstance(in_flight, (list, dict)) else 0}
    return {key: int(counts.get(key) or 0) for key in FUNNEL_KEYS}


def budget_spent(counts: dict, budget: int) -> int:
    """Budget slots the finished candidates spent: the unstable ones give theirs back
    (``search_engine.evolution.slots_spent``)."""
    from search_engine.evolution import slots_spent

    finished = sum(int(counts.get(s) or 0) for s in FINISHED_STATUSES)
    return slots_spent(finished, int(counts.get("unstable") or 0), budget)


def search_summary(search: Search) -> dict:
    from search_engine.evolution import UNSTABLE_ALLOWANCE

    best = search.best_candidate
    config = search.config or {}
    budget = int(config.get("budget") or 0)
    return {
        "id": search.pk,
        "name": search.name,
        "status": search.status,
        "stage": search.stage,
        "preset": search.preset,
        "mode": config.get("mode"),
        "strategy": config.get("strategy", "evolution"),
        "counts": {**(search.counts or {}), "total": search.proposed},
        "budget": config.get("budget"),
        # slots of the budget spent by finished candidates, and how many unstable ones
        # per slot may give theirs back (search_engine.evolution: "What the budget counts")
        "budget_spent": budget_spent(search.counts or {}, budget),
        "unstable_allowance": UNSTABLE_ALLOWANCE,
        "created_at": search.created_at.isoformat(),
        "best": None if best is None else candidate_summary(best),
        "reason": search.status_reason or None,
    }


def _throughput_per_minute(search: Search) -> float | None:
    if search.started_at is None:
        return None
    now = search.finished_at or timezone.now()
    since = max(search.started_at, now - THROUGHPUT_WINDOW)
    minutes = (now - since).total_seconds() / 60
    if minutes <= 0:
        return None
    # budget slots per minute: unstable candidates cost no budget (search_engine.evolution)
    done = (Candidate.objects.filter(search=search, status__in=FINISHED_STATUSES,
                                     finished_at__gte=since, finished_at__lte=now)
            .exclude(rejection_reason="unstable").count())
    return done / minutes


def search_detail(search: Search) -> dict:
    config = search.config or {}
    throughput = _throughput_per_minute(search)
    summary = search_summary(search)
    remaining = max(0, int(config.get("budget") or 0) - summary["budget_spent"])
    eta = None
    if search.finished_at is None and throughput:
        eta = remaining / throughput * 60
    workers = (Candidate.objects.filter(search=search, status=CandidateStatus.RUNNING)
               .exclude(worker="").values_list("worker", flat=True).distinct())
    jobs = RerankJob.objects.filter(search=search).order_by("-mean_score", "id")
    return {
        **summary,
        "config": config,
        "seed": search.seed,
        "architectures": list((config.get("eval") or {}).get("architectures") or []),
        "funnel": search_funnel(search.engine_state),
        "last_seq": search.last_seq,
        "cloned_from": search.cloned_from_id,
        "started_at": search.started_at.isoformat() if search.started_at else None,
        "finished_at": search.finished_at.isoformat() if search.finished_at else None,
        "eta_seconds": eta,
        "throughput_per_minute": throughput,
        "active_workers": len(set(workers)),
        "workers": sorted(set(workers)),
        "rerank": [
            {"candidate_id": j.candidate_id, "status": j.status, "mean_score": j.mean_score,
             "scores": (j.result or {}).get("scores", {})}
            for j in jobs
        ],
    }


def _front(points: list[tuple[int, tuple[float, ...]]]) -> list[int]:
    """Ids of the non-dominated points (maximising every coordinate)."""
    ordered = sorted(points, key=lambda p: tuple(-v for v in p[1]))
    front: list[tuple[int, tuple[float, ...]]] = []
    for pid, vec in ordered:
        dominated = any(all(f >= v for f, v in zip(fv, vec, strict=True)) and fv != vec for _, fv in front)
        if not dominated:
            front.append((pid, vec))
    return [pid for pid, _ in front]


def search_pareto(*, search: Search, x: str | None = None, y: str | None = None) -> dict:
    """Evaluated candidates' scores and the Pareto front over ``x``/``y`` (default: every architecture)."""
    archs = list((search.config.get("eval") or {}).get("architectures") or [])
    axes = [a for a in (x, y) if a]
    for axis in axes:
        if axis not in archs:
            raise InvalidInput(f"unknown architecture {axis!r}; one of {', '.join(archs)}", field="x" if axis == x else "y")
    axes = axes or archs
    rows = list(Candidate.objects.filter(search=search, status=CandidateStatus.EVALUATED)
                .order_by("-mean_score", "id").values_list("id", "scores"))
    vectors = [(cid, tuple(float((scores or {}).get(a, 0.0) or 0.0) for a in axes)) for cid, scores in rows]
    front = _front(vectors)
    shown = {cid for cid, _ in rows[:MAX_PARETO_POINTS]} | set(front)
    return {
        "architectures": archs,
        "axes": axes,
        "points": [{"id": cid, "scores": scores} for cid, scores in rows if cid in shown],
        "front": front,
    }
