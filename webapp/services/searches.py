"""Search lifecycle: create (within quota), pause, resume, stop, clone."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator, Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from webapp.errors import InvalidInput, InvalidState, NotFound
from webapp.models import (
    Candidate,
    CandidateStatus,
    Layer,
    Search,
    SearchStage,
    SearchStatus,
    UserQuota,
)
from webapp.selectors.datasets import dataset_is_available, datasets_offered
from webapp.services import engine
from webapp.services.advance import advance_locked
from webapp.services.events import event_append
from webapp.services.graphs import graph_from_stored
from webapp.services.locks import search_locked
from webapp.services.names import name_clean
from webapp.services.quotas import quota_check_new_search, quota_lock
from webapp.services.rerank_stage import rerank_jobs_stop
from webapp.services.search_state import (
    STOPPED_REASON,
    candidates_cancel,
    search_refresh_counts,
    search_set_status,
)
from webapp.services.storage import document_size, storage_check

MAX_SEEDS = 100
CLONE_SEEDS = 5


def search_create(
    *,
    owner: AbstractBaseUser,
    name: str,
    preset: str,
    overrides: dict | None = None,
    seed: int | None = None,
    seed_layer_ids: Sequence[int] = (),
    seed_references: Sequence[str] = (),
    seed_documents: Sequence[dict] = (),
    cloned_from: Search | None = None,
) -> Search:
    """Create a search and let it propose its first candidates (429 past the user's quota)."""
    name = name_clean(name=name)
    config = engine.config_build(preset=preset, overrides=overrides)
    _check_dataset(config.eval.dataset)
    if seed is None:
        seed = secrets.randbelow(2**31)
    if len(seed_layer_ids) + len(seed_references) + len(seed_documents) > MAX_SEEDS:
        raise InvalidInput(f"at most {MAX_SEEDS} seed layers", field="seed_layer_ids")
    documents = list(seed_documents)
    layers = {layer.pk: layer for layer in Layer.objects.filter(owner=owner, pk__in=list(seed_layer_ids))}
    for layer_id in seed_layer_ids:
        if layer_id not in layers:
            raise NotFound(f"Layer {layer_id} not found.", field="seed_layer_ids")
        documents.append(layers[layer_id].document)
    graphs = [graph_from_stored(document=d) for d in documents]
    graphs += [engine.reference_graph(name=ref) for ref in seed_references]
    evo = engine.evolution_new(config=config, seed=seed, seed_graphs=graphs)
    seed_documents = [g.to_dict() for g in graphs]
    with transaction.atomic():
        quota = quota_lock(user_id=owner.pk)
        quota_check_new_search(quota=quota)
        storage_check(user_id=owner.pk, adding=document_size(config.to_dict()) + document_size(seed_documents))
        search = Search.objects.create(
            owner=owner,
            name=name,
            preset=preset,
            config=config.to_dict(),
            seed=seed,
            seed_documents=seed_documents,
            cloned_from=cloned_from,
            engine_state=evo.state_dict(compact=True),
        )
        event_append(search=search, type="search.status",
                     payload={"status": search.status, "stage": search.stage, "reason": None})
        search = Search.objects.select_for_update().get(pk=search.pk)
        advance_locked(search=search, quota=quota)
    return search


def _check_dataset(name: str) -> None:
    """Only data sets this server has: a worker would otherwise fail every candidate."""
    if not dataset_is_available(name=name):
        offered = ", ".join(d["name"] for d in datasets_offered() if d["available"])
        raise InvalidInput(f"the data set {name!r} is not available on this server; it offers: {offered}",
                           code="dataset_unavailable", field="eval.dataset")


@contextlib.contextmanager
def _locked_owned(owner: AbstractBaseUser, search_id: int) -> Iterator[tuple[Search, UserQuota]]:
    """``search_locked`` for the owner only; another user's search is not found."""
    if not Search.objects.filter(pk=search_id, owner=owner).exists():
        raise NotFound(f"Search {search_id} not found.")
    with search_locked(search_id=search_id) as locked:
        if locked is None:
            raise NotFound(f"Search {search_id} not found.")
        yield locked


def search_pause(*, owner: AbstractBaseUser, search_id: int) -> Search:
    """No new candidates; those in flight finish and are recorded."""
    with _locked_owned(owner, search_id) as (search, _quota):
        if search.status not in (SearchStatus.QUEUED, SearchStatus.RUNNING):
            raise InvalidState(f"cannot pause a {search.status} search")
        search_set_status(search=search, status=SearchStatus.PAUSED)
        return search


def search_resume(*, owner: AbstractBaseUser, search_id: int) -> Search:
    with _locked_owned(owner, search_id) as (search, quota):
        if search.status != SearchStatus.PAUSED:
            raise InvalidState(f"cannot resume a {search.status} search")
        search_set_status(search=search, status=SearchStatus.RUNNING)
        advance_locked(search=search, quota=quota)
        return search


def search_stop(*, owner: AbstractBaseUser, search_id: int) -> Search:
    """Stop at once: queued candidates never start, running ones are abandoned (their workers
    hear "abort" at the next heartbeat, and a late report is ignored), rerank jobs end too.
    Every one of them is ``cancelled``; the search is ``stopped``."""
    with _locked_owned(owner, search_id) as (search, _quota):
        if search.status not in (SearchStatus.QUEUED, SearchStatus.RUNNING, SearchStatus.PAUSED,
                                 SearchStatus.STOPPING):
            raise InvalidState(f"cannot stop a {search.status} search")
        candidates_cancel(search=search, reason="stopped",
                          message="never started: the search was stopped first",
                          running_message="abandoned: the search was stopped while it trained")
        rerank_jobs_stop(search=search)
        search_refresh_counts(search=search)
        search_set_status(search=search, status=SearchStatus.STOPPED, stage=SearchStage.DONE,
                          reason=STOPPED_REASON)
        return search


def search_control(*, owner: AbstractBaseUser, search_id: int, action: str) -> Search:
    actions = {"pause": search_pause, "resume": search_resume, "stop": search_stop}
    if action not in actions:
        raise InvalidInput(f"unknown action {action!r}; one of pause, resume, stop", field="action")
    return actions[action](owner=owner, search_id=search_id)


def search_clone(*, owner: AbstractBaseUser, search_id: int, name: str | None = None,
                 budget: int | None = None) -> Search:
    """A new search with the old one's config and seed, its best layers as seed layers."""
    old = Search.objects.filter(pk=search_id, owner=owner).first()
    if old is None:
        raise NotFound(f"Search {search_id} not found.")
    overrides = dict(old.config)
    # Searches stored before data locations became the server's may name a path.
    overrides["eval"] = {**overrides.get("eval", {}), "data_dir": None}
    if budget is not None:
        overrides["budget"] = budget
    best = Candidate.objects.filter(search=old, status=CandidateStatus.EVALUATED, mean_score__isnull=False) \
        .order_by("-mean_score", "id").values_list("document", flat=True)[:CLONE_SEEDS]
    return search_create(
        owner=owner,
        name=name or f"{old.name} (clone)"[:100],
        preset=old.preset,
        overrides=overrides,
        seed=old.seed,
        seed_documents=list(best),
        cloned_from=old,
    )


