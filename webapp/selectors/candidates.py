"""Candidate reads: summaries, filtered and sorted pages, detail with lineage."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import F, QuerySet

from webapp.errors import InvalidInput, NotFound
from webapp.models import Candidate, CandidateStatus

MAX_LINEAGE = 500

ORDERINGS = {
    "-score": (F("mean_score").desc(nulls_last=True), "-id"),
    "score": (F("mean_score").asc(nulls_last=True), "id"),
    "created": ("id",),
    "-created": ("-id",),
    "finished": (F("finished_at").asc(nulls_last=True), "id"),
    "-finished": (F("finished_at").desc(nulls_last=True), "-id"),
}

# Not needed for a summary; left out of list queries.
HEAVY_FIELDS = ("document", "curves", "timings", "tournament", "message")


def candidate_summary(candidate: Candidate) -> dict:
    return {
        "id": candidate.pk,
        "search_id": candidate.search_id,
        "canonical_hash": candidate.canonical_hash,
        "status": candidate.status,
        "rejection_reason": candidate.rejection_reason or None,
        "scores": candidate.scores or {},
        "mean_score": candidate.mean_score,
        "mode": candidate.mode,
        "formula": candidate.formula,
        "parent_id": candidate.parent_id,
        "mutation": candidate.mutation,
        "attempts": candidate.attempts,
        "worker": candidate.worker or None,
        "created_at": _iso(candidate.created_at),
        "started_at": _iso(candidate.started_at),
        "finished_at": _iso(candidate.finished_at),
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def candidate_get(*, owner: AbstractBaseUser, candidate_id: int) -> Candidate:
    candidate = Candidate.objects.filter(pk=candidate_id, search__owner=owner).first()
    if candidate is None:
        raise NotFound(f"Candidate {candidate_id} not found.")
    return candidate


def candidate_list(*, search_id: int, status: str | None = None, rejection_reason: str | None = None,
                   ordering: str = "-score") -> QuerySet[Candidate]:
    """Candidates of a search (ownership checked by the caller), filtered and ordered."""
    qs = Candidate.objects.filter(search_id=search_id).defer(*HEAVY_FIELDS)
    if status:
        if status not in CandidateStatus.values:
            raise InvalidInput(f"unknown status {status!r}; one of {', '.join(CandidateStatus.values)}",
                               field="status")
        qs = qs.filter(status=status)
    if rejection_reason:
        qs = qs.filter(rejection_reason=rejection_reason)
    if ordering not in ORDERINGS:
        raise InvalidInput(f"unknown ordering {ordering!r}; one of {', '.join(ORDERINGS)}", field="ordering")
    return qs.order_by(*ORDERINGS[ordering])


def candidate_lineage(*, candidate: Candidate) -> list[Candidate]:
    """Ancestors, parent first, up to the root (at most ``MAX_LINEAGE``), in one recursive query."""
    if candidate.parent_id is None:
        return []
    table = Candidate._meta.db_table
    sql = (
        f"WITH RECURSIVE chain(id, parent_id, depth) AS ("  # noqa: S608 - table name from the model
        f" SELECT id, parent_id, 1 FROM {table} WHERE id = %s"
        f" UNION ALL SELECT c.id, c.parent_id, chain.depth + 1 FROM {table} c"
        f" JOIN chain ON c.id = chain.parent_id WHERE chain.depth < %s"
        f") SELECT id, depth FROM chain"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [candidate.parent_id, MAX_LINEAGE])
        depth = dict(cursor.fetchall())
    ancestors = Candidate.objects.filter(pk__in=depth.keys(), search_id=candidate.search_id)
    return sorted(ancestors, key=lambda c: depth[c.pk])


def candidate_detail(*, candidate: Candidate) -> dict:
    return {
        **candidate_summary(candidate),
        "document": candidate.document,
        "curves": candidate.curves or {},
        "timings": candidate.timings or {},
        "message": candidate.message,
        "tournament": candidate.tournament,
        "lineage": [candidate_summary(c) for c in candidate_lineage(candidate=candidate)],
    }
