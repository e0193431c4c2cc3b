"""Candidates: one proposed layer of a search and the story of its evaluation."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.backends.ddl_references import Statement
from django.db.models import F, Q
from django.db.models.expressions import OrderBy


class CandidateStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    REJECTED = "rejected"
    EVALUATED = "evaluated"
    FAILED = "failed"
    LOST = "lost"
    # Never evaluated to the end because its search was stopped or failed first: not the
    # layer's fault, so neither failed nor rejected.
    CANCELLED = "cancelled"


IN_FLIGHT_STATUSES = (CandidateStatus.QUEUED, CandidateStatus.RUNNING)
# Statuses of an evaluation that ran its course (what throughput and progress count).
FINISHED_STATUSES = (CandidateStatus.REJECTED, CandidateStatus.EVALUATED, CandidateStatus.FAILED, CandidateStatus.LOST)


class NullsOrderIndex(models.Index):
    """An index whose columns say where NULLs go, as the ORDER BY it must serve does.

    PostgreSQL stores a DESC column NULLS FIRST unless told otherwise, so it serves ``DESC NULLS LAST`` only
    from an index that says so. SQLite's CREATE INDEX rejects NULLS FIRST/LAST, and needs none where the
    modifier is its own order (NULLs sort lowest: DESC is NULLS LAST, ASC is NULLS FIRST), so there it is
    left out; a modifier against SQLite's order cannot be indexed there and is refused.
    """

    def create_sql(self, model: type[models.Model], schema_editor: BaseDatabaseSchemaEditor, using: str = "",
                   **kwargs: Any) -> Statement:
        if schema_editor.connection.vendor != "sqlite":
            return super().create_sql(model, schema_editor, using=using, **kwargs)
        _path, args, kw = self.deconstruct()
        plain = []
        for expr in args:
            if isinstance(expr, OrderBy) and (expr.nulls_first or expr.nulls_last):
                if bool(expr.nulls_last) != expr.descending:
                    raise ValueError(f"{self.name}: SQLite cannot index {expr!r}")
                expr = OrderBy(expr.expression, descending=expr.descending)
            plain.append(expr)
        return models.Index(*plain, **kw).create_sql(model, schema_editor, using=using, **kwargs)


class Candidate(models.Model):
    """A layer proposed by a search.

    ``told`` says whether the engine state has been told this candidate's
    result yet; ``attempts`` counts starts, so a late report from a superseded
    attempt is recognised and ignored. ``mean_score`` mirrors the mean of
    ``scores`` so lists sort in the database.
    """

    search = models.ForeignKey("webapp.Search", on_delete=models.CASCADE, related_name="candidates")
    canonical_hash = models.CharField(max_length=64)
    document = models.JSONField()
    formula = models.TextField(blank=True)
    mode = models.CharField(max_length=1)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    mutation = models.CharField(max_length=20)
    tournament = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=CandidateStatus.choices, default=CandidateStatus.QUEUED)
    rejection_reason = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    scores = models.JSONField(default=dict, blank=True)
    mean_score = models.FloatField(null=True, blank=True)
    curves = models.JSONField(default=dict, blank=True)
    timings = models.JSONField(default=dict, blank=True)
    device = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    told = models.BooleanField(default=False)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["search", "id"]
        constraints = [
            models.UniqueConstraint(fields=["search", "canonical_hash"], name="candidate_search_hash_unique"),
        ]
        indexes = [
            models.Index(fields=["search", "status"], name="cand_search_status"),
            models.Index(fields=["status", "last_heartbeat"], name="cand_status_heartbeat"),
            models.Index(fields=["search", "-mean_score"], name="cand_search_score"),  # PostgreSQL: "score" read backwards
            # candidate_list's "-score" order, tie-breaker included: mean_score DESC NULLS LAST, id DESC.
            NullsOrderIndex(F("search"), F("mean_score").desc(nulls_last=True), F("id").desc(),
                            name="cand_search_score_id"),
            # advance's _tell_finished: SQLite cannot seek on ``NOT told``; this holds the untold rows only.
            models.Index(fields=["search"], condition=Q(told=False), name="cand_search_untold"),
            models.Index(fields=["search", "rejection_reason"], name="cand_search_reason"),
        ]

    def __str__(self) -> str:
        return f"candidate {self.pk} of search {self.search_id} ({self.status})"
