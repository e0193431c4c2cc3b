"""Layer reads, always scoped to the owner."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from webapp.errors import NotFound
from webapp.models import Layer, LayerVersion


def layer_list(*, owner: AbstractBaseUser) -> QuerySet[Layer]:
    return Layer.objects.filter(owner=owner).order_by("-updated_at", "-id")


def layer_get(*, owner: AbstractBaseUser, layer_id: int, for_update: bool = False) -> Layer:
    qs = Layer.objects.filter(owner=owner, pk=layer_id)
    if for_update:
        qs = qs.select_for_update()
    layer = qs.first()
    if layer is None:
        raise NotFound(f"Layer {layer_id} not found.")
    return layer


def layer_versions(*, owner: AbstractBaseUser, layer_id: int) -> QuerySet[LayerVersion]:
    layer = layer_get(owner=owner, layer_id=layer_id)
    return LayerVersion.objects.filter(layer=layer).order_by("-version")


def layer_version_get(*, owner: AbstractBaseUser, layer_id: int, version: int) -> LayerVersion:
    found = layer_versions(owner=owner, layer_id=layer_id).filter(version=version).first()
    if found is None:
        raise NotFound(f"Layer {layer_id} has no version {version}.")
    return found


def layer_summary(layer: Layer) -> dict:
    return {
        "id": layer.pk,
        "name": layer.name,
        "mode": layer.mode,
        "formula": layer.formula,
        "canonical_hash": layer.canonical_hash,
        "version": layer.version,
        "updated_at": layer.updated_at,
    }


def layer_detail(layer: Layer) -> dict:
    return {**layer_summary(layer), "document": layer.document, "created_at": layer.created_at}


def layer_version_summary(version: LayerVersion) -> dict:
    return {
        "version": version.version,
        "name": version.name,
        "canonical_hash": version.canonical_hash,
        "formula": version.formula,
        "mode": version.mode,
        "created_at": version.created_at,
    }
