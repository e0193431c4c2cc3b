"""What a search would cost on this lab before it is launched: how many candidates train at
once, and how long it takes, from what candidates really cost on this lab's workers.

Capacity is asked of the workers themselves (Celery remote control, cached for a few
seconds), so GPU hosts added with ``manage.py gpu_workers`` count too. Costs are the wall
times (start to result) of the lab's most recent finished candidates, grouped by their
evaluation settings: the same settings give an exact measurement; the same data set,
anchors, sizes and batch with another number of steps give one scaled by the steps.
Nothing is guessed: with no measurement the estimate says so.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from typing import Any

from django.core.cache import cache

from webapp.models import Candidate, CandidateStatus, Search
from webapp.services import dispatch

CAPACITY_CACHE_KEY = "lab:eval-capacity"
CAPACITY_CACHE_SECONDS = 15
INSPECT_TIMEOUT = 0.8
RECENT_CANDIDATES = 2000
# Settings that do not change what an evaluation costs.
COST_NEUTRAL = ("data_dir", "progress_every")
# Settings a cost may be scaled over (training length), the rest must match.
SCALABLE = ("steps", "quality_steps", "stability_steps", "lr", "momentum", "nesterov", "weight_decay",
            "schedule", "warmup_steps", "grad_clip", "quality_threshold", "stability_threshold")
MEASURED_STATUSES = (CandidateStatus.EVALUATED, CandidateStatus.REJECTED, CandidateStatus.FAILED)


def eval_capacity() -> dict:
    """``{"slots": n, "workers": [{"name", "slots"}]}``: evaluations this lab runs at once now."""
    found = cache.get(CAPACITY_CACHE_KEY)
    if found is None:
        try:
            nodes = dispatch.eval_inspector(INSPECT_TIMEOUT)
        except Exception:  # no broker: no worker can be reached either
            nodes = {}
        found = {"slots": sum(nodes.values()),
                 "workers": [{"name": name, "slots": n} for name, n in sorted(nodes.items())]}
        cache.set(CAPACITY_CACHE_KEY, found, CAPACITY_CACHE_SECONDS)
    return found


def _fingerprint(eval_config: dict, drop: tuple[str, ...]) -> str:
    kept = {k: v for k, v in eval_config.items() if k not in drop}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()


def _measured_costs() -> list[tuple[dict, float, str, str]]:
    """``(eval config, wall seconds, status, rejection reason)`` of the lab's most recent
    finished candidates."""
    rows = list(
        Candidate.objects.filter(status__in=MEASURED_STATUSES, started_at__isnull=False, finished_at__isnull=False)
        .order_by("-id").values_list("search_id", "started_at", "finished_at", "status", "rejection_reason")
        [:RECENT_CANDIDATES]
    )
    configs = dict(Search.objects.filter(pk__in={r[0] for r in rows}).values_list("pk", "config"))
    out = []
    for search_id, started, finished, status, reason in rows:
        seconds = (finished - started).total_seconds()
        eval_config = (configs.get(search_id) or {}).get("eval")
        if isinstance(eval_config, dict) and seconds >= 0:
            out.append((eval_config, seconds, status, reason or ""))
    return out


def candidate_cost(*, eval_config: dict) -> dict:
    """Measured seconds per budget slot under ``eval_config`` on this lab's workers.

    ``{"seconds", "evaluated_seconds", "kind": "exact"|"scaled"|"none", "candidates", "steps_from"}``;
    ``seconds`` is what one slot of the budget costs: the mean over the candidates that
    reached training plus their share of the unstable ones, which cost no budget
    (``search_engine.evolution``: "What the budget counts"); ``evaluated_seconds`` is the
    cost of a candidate that trained to the end (re-ranking's unit).
    """
    exact_key = _fingerprint(eval_config, COST_NEUTRAL)
    shape_key = _fingerprint(eval_config, COST_NEUTRAL + SCALABLE)
    exact: list[tuple[float, str, str]] = []
    scaled: list[tuple[float, str, str, int]] = []
    for config, seconds, status, reason in _measured_costs():
        if _fingerprint(config, COST_NEUTRAL) == exact_key:
            exact.append((seconds, status, reason))
        elif _fingerprint(config, COST_NEUTRAL + SCALABLE) == shape_key and int(config.get("steps") or 0) > 0:
            scaled.append((seconds, status, reason, int(config["steps"])))
    if exact:
        return _summary(exact, kind="exact", steps_from=None)
    if scaled:
        steps = int(eval_config.get("steps") or 0)
        factor_by = statistics.median(s for *_, s in scaled)
        rows = [(seconds * steps / old, status, reason) for seconds, status, reason, old in scaled]
        return _summary(rows, kind="scaled", steps_from=int(factor_by))
    return {"seconds": None, "evaluated_seconds": None, "kind": "none", "candidates": 0, "steps_from": None}


def _summary(rows: list[tuple[float, str, str]], *, kind: str, steps_from: int | None) -> dict:
    evaluated = [s for s, status, _ in rows if status == CandidateStatus.EVALUATED]
    slots = sum(reason != "unstable" for _, _, reason in rows)
    return {
        # every measured candidate's cost, spread over those that spent a budget slot
        "seconds": sum(s for s, _, _ in rows) / slots if slots else None,
        "evaluated_seconds": statistics.median(evaluated) if evaluated else None,
        "kind": kind,
        "candidates": len(rows),
        "steps_from": steps_from,
    }


def search_estimate(*, config: Any) -> dict:
    """How ``config`` (a ``SearchConfig``) would run on this lab now: capacity, parallelism, time."""
    capacity = eval_capacity()
    at_once = min(config.parallel, capacity["slots"])
    eval_config = config.eval.to_dict()
    cost = candidate_cost(eval_config=eval_config)
    evolution = rerank = total = None
    if cost["seconds"] is not None and at_once > 0:
        evolution = math.ceil(config.budget / at_once) * cost["seconds"]
        jobs = int(config.rerank_top_k or 0)
        if jobs:
            unit = cost["evaluated_seconds"] or cost["seconds"]
            steps = max(1, int(eval_config.get("steps") or 1))
            per_job = unit * max(1, int(config.rerank_seeds or 1)) * int(config.rerank_steps or steps) / steps
            rerank = math.ceil(jobs / at_once) * per_job
        total = evolution + (rerank or 0.0)
    return {
        "capacity": capacity,
        "parallel": config.parallel,
        "at_once": at_once,
        "budget": config.budget,
        "cost": cost,
        "evolution_seconds": evolution,
        "rerank_seconds": rerank,
        "total_seconds": total,
    }
