"""Layers a user designs: the current document plus every saved version."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Layer(models.Model):
    """A named layer; its current state mirrors its newest ``LayerVersion``."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="layers")
    name = models.CharField(max_length=100)
    document = models.JSONField()
    canonical_hash = models.CharField(max_length=64)
    formula = models.TextField(blank=True)
    mode = models.CharField(max_length=1)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-id"]
        indexes = [models.Index(fields=["owner", "-updated_at"], name="layer_owner_updated")]

    def __str__(self) -> str:
        return f"{self.name} (v{self.version})"


class LayerVersion(models.Model):
    """One save of a layer; restoring a version saves a new one equal to it."""

    layer = models.ForeignKey(Layer, on_delete=models.CASCADE, related_name="versions")
    version = models.PositiveIntegerField()
    name = models.CharField(max_length=100)
    document = models.JSONField()
    canonical_hash = models.CharField(max_length=64)
    formula = models.TextField(blank=True)
    mode = models.CharField(max_length=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-version"]
        constraints = [models.UniqueConstraint(fields=["layer", "version"], name="layer_version_unique")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"
