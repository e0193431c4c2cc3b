"""Layer writes: every save is a new version; restore saves a copy of an old one."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from webapp.errors import NotFound
from webapp.models import Layer, LayerVersion
from webapp.selectors.layers import layer_get
from webapp.services.graphs import ParsedLayer, graph_parse
from webapp.services.names import name_clean
from webapp.services.quotas import quota_lock
from webapp.services.storage import document_check_size, document_size, storage_check


def _add_version(*, layer: Layer, name: str, parsed: ParsedLayer) -> LayerVersion:
    return LayerVersion.objects.create(
        layer=layer,
        version=layer.version,
        name=name,
        document=parsed.document,
        canonical_hash=parsed.canonical_hash,
        formula=parsed.formula,
        mode=parsed.mode,
    )


@transaction.atomic
def layer_create(*, owner: AbstractBaseUser, name: str, document: Any) -> Layer:
    name = name_clean(name=name)
    parsed = graph_parse(document=document)
    size = document_check_size(document=parsed.document)
    quota_lock(user_id=owner.pk)
    storage_check(user_id=owner.pk, adding=2 * size)  # the layer and its first version
    layer = Layer.objects.create(
        owner=owner,
        name=name,
        document=parsed.document,
        canonical_hash=parsed.canonical_hash,
        formula=parsed.formula,
        mode=parsed.mode,
        version=1,
    )
    _add_version(layer=layer, name=name, parsed=parsed)
    return layer


@transaction.atomic
def layer_update(*, owner: AbstractBaseUser, layer_id: int, name: str, document: Any) -> Layer:
    """Save a new version of the layer."""
    name = name_clean(name=name)
    parsed = graph_parse(document=document)
    size = document_check_size(document=parsed.document)
    quota_lock(user_id=owner.pk)
    layer = layer_get(owner=owner, layer_id=layer_id, for_update=True)
    # A new version is added and the layer's document replaced.
    storage_check(user_id=owner.pk, adding=2 * size - document_size(layer.document))
    layer.name = name
    layer.document = parsed.document
    layer.canonical_hash = parsed.canonical_hash
    layer.formula = parsed.formula
    layer.mode = parsed.mode
    layer.version += 1
    layer.save()
    _add_version(layer=layer, name=name, parsed=parsed)
    return layer


@transaction.atomic
def layer_restore(*, owner: AbstractBaseUser, layer_id: int, version: int) -> Layer:
    """Save a new version equal to ``version``."""
    quota_lock(user_id=owner.pk)  # before the layer row, as everywhere
    layer = layer_get(owner=owner, layer_id=layer_id, for_update=True)
    old = LayerVersion.objects.filter(layer=layer, version=version).first()
    if old is None:
        raise NotFound(f"Layer {layer_id} has no version {version}.")
    return layer_update(owner=owner, layer_id=layer.pk, name=old.name, document=old.document)


@transaction.atomic
def layer_delete(*, owner: AbstractBaseUser, layer_id: int) -> None:
    layer_get(owner=owner, layer_id=layer_id, for_update=True).delete()
