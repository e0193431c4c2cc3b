"""Searches (config, engine state, counters) and their rerank jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class SearchStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    STOPPING = "stopping"  # no longer entered: a stop takes effect at once (rows from before read as stopped)
    STOPPED = "stopped"
    FINISHED = "finished"
    FAILED = "failed"


ACTIVE_SEARCH_STATUSES = (SearchStatus.QUEUED, SearchStatus.RUNNING, SearchStatus.PAUSED, SearchStatus.STOPPING)
# Ended, each for its own reason (``status_reason``): the budget or time was spent, the owner
# stopped it, or it could not go on.
DONE_SEARCH_STATUSES = (SearchStatus.FINISHED, SearchStatus.STOPPED, SearchStatus.FAILED)


class SearchStage(models.TextChoices):
    EVOLUTION = "evolution"
    RERANK = "rerank"
    DONE = "done"


def _empty_counts() -> dict:
    return {"queued": 0, "running": 0, "evaluated": 0, "rejected": 0, "failed": 0, "lost": 0, "cancelled": 0}


class Search(models.Model):
    """One evolutionary search; its engine state is advanced under a row lock.

    ``last_seq`` is the newest event's sequence number, allocated under the
    same lock. ``counts`` holds candidates per status, kept in step with every
    status change (always made while the search row is locked).
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="searches")
    name = models.CharField(max_length=100)
    preset = models.CharField(max_length=40)
    config = models.JSONField()
    seed = models.BigIntegerField()
    seed_documents = models.JSONField(default=list, blank=True)
    cloned_from = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="clones")
    status = models.CharField(max_length=10, choices=SearchStatus.choices, default=SearchStatus.QUEUED)
    stage = models.CharField(max_length=10, choices=SearchStage.choices, default=SearchStage.EVOLUTION)
    status_reason = models.TextField(blank=True)
    engine_state = models.JSONField(default=dict, blank=True)
    counts = models.JSONField(default=_empty_counts)
    proposed = models.PositiveIntegerField(default=0)
    best_candidate = models.ForeignKey(
        "webapp.Candidate", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_seq = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "searches"
        indexes = [
            models.Index(fields=["owner", "status"], name="search_owner_status"),
            models.Index(fields=["owner", "-created_at"], name="search_owner_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class RerankStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class RerankJob(models.Model):
    """Retraining of one top candidate after the search; one task per job, keyed by id."""

    search = models.ForeignKey(Search, on_delete=models.CASCADE, related_name="rerank_jobs")
    candidate = models.ForeignKey("webapp.Candidate", on_delete=models.CASCADE, related_name="rerank_jobs")
    status = models.CharField(max_length=10, choices=RerankStatus.choices, default=RerankStatus.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=200, blank=True)
    last_heartbeat = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    mean_score = models.FloatField(null=True, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["search", "id"]
        constraints = [models.UniqueConstraint(fields=["search", "candidate"], name="rerank_search_candidate_unique")]
        indexes = [models.Index(fields=["status", "last_heartbeat"], name="rerank_status_heartbeat")]

    def __str__(self) -> str:
        return f"rerank of candidate {self.candidate_id} ({self.status})"
