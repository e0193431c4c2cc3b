"""Searches: create, list, read, control, clone; their candidates, Pareto front and events."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import BaseModel, Field

from webapp.api.pagination import PageQuery, paginate
from webapp.api.schemas import CloneIn, ControlIn, EstimateIn, EstimateOut, EventsOut, SearchIn
from webapp.selectors import candidates as cand_sel
from webapp.selectors import searches as sel
from webapp.selectors.estimates import search_estimate
from webapp.selectors.events import MAX_EVENTS_PAGE, events_after
from webapp.services import engine
from webapp.services import searches as svc

router = Router(tags=["searches"])


class SearchQuery(PageQuery):
    status: str | None = Field(None, max_length=20)


class CandidateQuery(SearchQuery):
    rejection_reason: str | None = Field(None, max_length=40)
    ordering: str = Field("-score", max_length=20)


class ParetoQuery(BaseModel):
    x: str | None = Field(None, max_length=40)
    y: str | None = Field(None, max_length=40)


class EventsQuery(BaseModel):
    after: int = Field(0, ge=0)
    limit: int = Field(500, ge=1, le=MAX_EVENTS_PAGE)


def _detail(request: HttpRequest, search_id: int) -> dict:
    return sel.search_detail(sel.search_get(owner=request.auth, search_id=search_id))


@router.post("", response={201: Any})
def create_search(request: HttpRequest, body: SearchIn) -> Status:
    search = svc.search_create(
        owner=request.auth, name=body.name, preset=body.preset, overrides=body.overrides, seed=body.seed,
        seed_layer_ids=body.seed_layer_ids, seed_references=body.seed_references,
    )
    return Status(201, _detail(request, search.pk))


@router.post("/estimate", response=EstimateOut)
def estimate(request: HttpRequest, body: EstimateIn) -> dict:
    """How a search with this preset and these overrides would run on this lab now: how many
    candidates train at once (the lab's evaluation capacity against the config's ``parallel``)
    and how long it takes, from the measured cost of candidates on this lab's workers."""
    return search_estimate(config=engine.config_build(preset=body.preset, overrides=body.overrides))


@router.get("", response=Any)
def list_searches(request: HttpRequest, q: Query[SearchQuery]) -> dict:
    return paginate(sel.search_list(owner=request.auth, status=q.status), page=q.page, page_size=q.page_size,
                    serialize=sel.search_summary)


@router.get("/{id:search_id}", response=Any)
def get_search(request: HttpRequest, search_id: int) -> dict:
    return _detail(request, search_id)


@router.post("/{id:search_id}/control", response=Any)
def control_search(request: HttpRequest, search_id: int, body: ControlIn) -> dict:
    svc.search_control(owner=request.auth, search_id=search_id, action=body.action)
    return _detail(request, search_id)


@router.post("/{id:search_id}/clone", response={201: Any})
def clone_search(request: HttpRequest, search_id: int, body: CloneIn) -> Status:
    search = svc.search_clone(owner=request.auth, search_id=search_id, name=body.name, budget=body.budget)
    return Status(201, _detail(request, search.pk))


@router.get("/{id:search_id}/candidates", response=Any)
def list_candidates(request: HttpRequest, search_id: int, q: Query[CandidateQuery]) -> dict:
    search = sel.search_get(owner=request.auth, search_id=search_id)
    qs = cand_sel.candidate_list(search_id=search.pk, status=q.status, rejection_reason=q.rejection_reason,
                                 ordering=q.ordering)
    return paginate(qs, page=q.page, page_size=q.page_size, serialize=cand_sel.candidate_summary)


@router.get("/{id:search_id}/pareto", response=Any)
def pareto(request: HttpRequest, search_id: int, q: Query[ParetoQuery]) -> dict:
    return sel.search_pareto(search=sel.search_get(owner=request.auth, search_id=search_id), x=q.x, y=q.y)


@router.get("/{id:search_id}/events", response=EventsOut)
def events(request: HttpRequest, search_id: int, q: Query[EventsQuery]) -> dict:
    search = sel.search_get(owner=request.auth, search_id=search_id)
    return {"events": events_after(search_id=search.pk, after=q.after, limit=q.limit), "last_seq": search.last_seq}
