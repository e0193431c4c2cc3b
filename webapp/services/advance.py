"""Advancing a search: the one place its engine state changes (the evolution step), and the
dispatch to its stage.

Everything here runs under the locks ``webapp.services.locks.search_locked`` takes, in this
order everywhere in the app: the owner's quota row, then the search row, then candidate rows.
Advancing tells the engine every finished-but-untold result (the population ages and changes),
asks for new candidates until the configured number is in flight (bounded by the user's
in-flight quota), records them with their events and enqueues their evaluation after commit.
When the budget or wall time is spent and nothing is in flight, the search moves to its rerank
stage (``webapp.services.rerank_stage``), then finishes.

The advance layer of the search flow: imports the stages, search state and locks, and is
imported by the rest (candidates, rerank jobs, reaper, searches), never the other way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from webapp.models import Candidate, CandidateStatus, Search, SearchStage, SearchStatus, UserQuota
from webapp.models.candidates import IN_FLIGHT_STATUSES
from webapp.selectors.candidates import candidate_summary
from webapp.selectors.searches import search_funnel
from webapp.services import dispatch, engine
from webapp.services.events import event_append
from webapp.services.locks import search_locked
from webapp.services.quotas import quota_in_flight_room
from webapp.services.rerank_stage import rerank_begin, rerank_check
from webapp.services.results import eval_result, failed_result
from webapp.services.search_state import (
    DONE_STATUSES,
    STOPPED_REASON,
    candidates_cancel,
    search_refresh_counts,
    search_set_status,
)

if TYPE_CHECKING:  # the engine is imported lazily (webapp.services.engine)
    from search_engine.config import SearchConfig
    from search_engine.evolution import Evolution, Proposal

log = logging.getLogger(__name__)


def search_advance(*, search_id: int) -> None:
    """Tell finished results, propose and enqueue new candidates, move stages (idempotent)."""
    with search_locked(search_id=search_id) as locked:
        if locked is not None:
            advance_locked(search=locked[0], quota=locked[1])


def _in_flight(search: Search) -> int:
    return Candidate.objects.filter(search=search, status__in=IN_FLIGHT_STATUSES).count()


def _wall_time_spent(search: Search, config: SearchConfig) -> bool:
    limit = getattr(config, "max_wall_seconds", None)
    if not limit or search.started_at is None:
        return False
    # Elapsed seconds against the limit: no date arithmetic that could overflow.
    return (timezone.now() - search.started_at).total_seconds() >= float(limit)


def engine_result(candidate: Candidate) -> dict:
    """The ``EvalResult.to_dict()`` shape the engine is told for a finished candidate."""
    lost = candidate.status == CandidateStatus.LOST
    cancelled = candidate.status == CandidateStatus.CANCELLED
    return eval_result(
        status=CandidateStatus.FAILED if lost or cancelled else candidate.status,
        rejection_reason="error" if lost else "stopped" if cancelled else (candidate.rejection_reason or None),
        message=candidate.message,
        scores=candidate.scores or {},
        timings=candidate.timings or {},
        device=candidate.device,
    )


def _ids_by_hash(search: Search, hashes: Iterable[str | None]) -> dict[str, int]:
    hashes = [h for h in set(hashes) if h]
    if not hashes:
        return {}
    return dict(Candidate.objects.filter(search=search, canonical_hash__in=hashes)
                .values_list("canonical_hash", "id"))


def _tell_finished(search: Search, evo: Evolution) -> bool:
    """Tell the engine every finished, untold candidate, oldest result first."""
    finished = list(
        Candidate.objects.filter(search=search, told=False)
        .exclude(status__in=IN_FLIGHT_STATUSES)
        .order_by("finished_at", "id")
    )
    for candidate in finished:
        try:
            change = evo.tell(candidate.canonical_hash, engine_result(candidate))
        except KeyError:
            log.warning("engine of search %s did not know candidate %s", search.pk, candidate.pk)
            continue
        if change.get("added") or change.get("removed"):
            ids = _ids_by_hash(search, [change.get("added"), *change.get("removed", [])])
            event_append(search=search, type="population.changed", payload={
                "added": ids.get(change.get("added")),
                "removed": [ids[h] for h in change.get("removed", []) if h in ids],
            })
    if finished:
        Candidate.objects.filter(pk__in=[c.pk for c in finished]).update(told=True)
    return bool(finished)


def _create_candidate(search: Search, proposal: Proposal, evo: Evolution) -> Candidate | None:
    graph = proposal.graph
    parent_ids = _ids_by_hash(search, [proposal.parent])
    try:
        with transaction.atomic():
            candidate = Candidate.objects.create(
                search=search,
                canonical_hash=proposal.key,
                document=graph.to_dict(),
                formula=graph.formula(),
                mode=graph.mode,
                parent_id=parent_ids.get(proposal.parent),
                mutation=proposal.mutation,
                tournament=proposal.tournament,
            )
    except IntegrityError:
        # The engine proposed a hash this search already has: tell it so it is
        # not waited for, and move on.
        log.error("search %s: engine proposed known hash %s", search.pk, proposal.key)
        evo.tell(proposal.key, failed_result(reason="error", message="duplicate proposal"))
        return None
    tournament = None
    if proposal.tournament:
        t = proposal.tournament
        ids = _ids_by_hash(search, [*t.get("contestants", []), *t.get("front", []), t.get("winner")])
        tournament = {
            "contestants": [ids[h] for h in t.get("contestants", []) if h in ids],
            "front": [ids[h] for h in t.get("front", []) if h in ids],
            "winner": ids.get(t.get("winner")),
        }
    event_append(search=search, type="candidate.created",
                 payload={"candidate": candidate_summary(candidate), "tournament": tournament})
    dispatch.task_enqueue(name=dispatch.TASK_EVALUATE, args=[candidate.pk], queue=dispatch.EVAL_QUEUE)
    return candidate


def advance_locked(*, search: Search, quota: UserQuota) -> None:
    """Advance ``search``; the caller holds the quota and search row locks."""
    if search.status in DONE_STATUSES:
        search_refresh_counts(search=search)  # a late report still counts
        return
    if search.stage == SearchStage.RERANK:
        rerank_check(search=search)
        search_refresh_counts(search=search)
        return
    config = engine.config_load(config=search.config)
    evo = engine.evolution_load(
        state=search.engine_state,
        is_known=lambda key: Candidate.objects.filter(search=search, canonical_hash=key).exists(),
    )
    changed = _tell_finished(search, evo)
    if search.status == SearchStatus.QUEUED:
        search_set_status(search=search, status=SearchStatus.RUNNING)
    in_flight = _in_flight(search)
    # Out of budget: the wall time is spent, or (below) the engine has no proposal left.
    exhausted = search.status == SearchStatus.RUNNING and _wall_time_spent(search, config)
    if search.status == SearchStatus.RUNNING and not exhausted:
        room = min(config.parallel - in_flight, quota_in_flight_room(quota=quota))
        for _ in range(max(0, room)):
            try:
                proposal = evo.ask()
            except Exception as exc:  # EvolutionError, or a bug: the search cannot go on
                log.exception("search %s: engine could not propose", search.pk)
                _save_state(search, evo)
                candidates_cancel(search=search, reason="search_failed",
                                  message="never started: the search failed before its turn")
                search_refresh_counts(search=search)
                search_set_status(search=search, status=SearchStatus.FAILED, stage=SearchStage.DONE,
                                  reason=f"the engine could not propose a candidate: {exc}")
                return
            changed = True
            if proposal is None:
                exhausted = True
                break
            if _create_candidate(search, proposal, evo) is not None:
                search.proposed += 1
                in_flight += 1
    if changed:
        _save_state(search, evo)
    search_refresh_counts(search=search)
    if in_flight:
        return
    if search.status == SearchStatus.STOPPING:  # a stop from before stops took effect at once
        search_set_status(search=search, status=SearchStatus.STOPPED, stage=SearchStage.DONE,
                          reason=STOPPED_REASON)
    elif search.status == SearchStatus.RUNNING and (exhausted or evo.done):
        rerank_begin(search=search, config=config, why=_end_reason(config, budget_spent=evo.done))


def _end_reason(config: SearchConfig, *, budget_spent: bool) -> str:
    """Why the evolution stage ended, in the user's words."""
    if budget_spent:
        return f"budget of {config.budget} candidates spent"
    limit = float(getattr(config, "max_wall_seconds", 0) or 0)
    return f"time limit of {_duration(limit)} reached"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _save_state(search: Search, evo: Evolution) -> None:
    """Store the engine's state; when its funnel moved, log a ``search.funnel`` event in the
    same transaction, so the live monitor's funnel follows the stored one step by step."""
    before = search_funnel(search.engine_state)
    search.engine_state = evo.state_dict(compact=True)
    search.save(update_fields=["engine_state", "proposed"])
    after = search_funnel(search.engine_state)
    if after is not None and after != before:
        event_append(search=search, type="search.funnel", payload={"funnel": after})
