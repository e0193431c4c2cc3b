"""Layer writes: every save that changes the graph is a new version; restore saves a copy of an old one.

A save that changes only the layout (the document's ``ui``: positions, drafts the
editor keeps) with the same name adds no version: the layer and its newest
version take the new ``ui`` in place.
"""

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


def without_layout(document: dict) -> dict:
    """What a document computes and is called: everything but ``ui``."""
    return {key: value for key, value in document.items() if key != "ui"}


def layout_only_change(*, layer: Layer, name: str, document: dict) -> bool:
    return name == layer.name and without_layout(document) == without_layout(layer.document)


@transaction.atomic
def layer_update(*, owner: AbstractBaseUser, layer_id: int, name: str, document: Any) -> Layer:
    """Save a new version of the layer, or only its layout when nothing else changed.

    The returned layer's ``layout_only`` says which happened.
    """
    name = name_clean(name=name)
    parsed = graph_parse(document=document)
    size = document_check_size(document=parsed.document)
    quota_lock(user_id=owner.pk)
    layer = layer_get(owner=owner, layer_id=layer_id, for_update=True)
    if layout_only_change(layer=layer, name=name, document=parsed.document):
        newest = LayerVersion.objects.select_for_update().filter(layer=layer, version=layer.version).first()
        storage_check(user_id=owner.pk, adding=2 * (size - document_size(layer.document)))
        layer.document = parsed.document
        layer.save()
        if newest is not None:
            newest.document = parsed.document
            newest.save(update_fields=["document"])
        layer.layout_only = True
        return layer
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
    layer.layout_only = False
    return layer


@transaction.atomic
def layer_restore(*, owner: AbstractBaseUser, layer_id: int, version: int) -> Layer:
    """Save a new version equal to ``version`` (only its layout, when the graph is the current one)."""
    quota_lock(user_id=owner.pk)  # before the layer row, as everywhere
    layer = layer_get(owner=owner, layer_id=layer_id, for_update=True)
    old = LayerVersion.objects.filter(layer=layer, version=version).first()
    if old is None:
        raise NotFound(f"Layer {layer_id} has no version {version}.")
    return layer_update(owner=owner, layer_id=layer.pk, name=old.name, document=old.document)


@transaction.atomic
def layer_delete(*, owner: AbstractBaseUser, layer_id: int) -> None:
    layer_get(owner=owner, layer_id=layer_id, for_update=True).delete()
