"""Per-search event log: gap-free sequence numbers, the truth behind the live stream."""

from __future__ import annotations

from django.db import models


class Event(models.Model):
    search = models.ForeignKey("webapp.Search", on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveBigIntegerField()
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["search", "seq"]
        constraints = [models.UniqueConstraint(fields=["search", "seq"], name="event_search_seq_unique")]

    def __str__(self) -> str:
        return f"#{self.seq} {self.type}"
