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


def layer_version_summary(version: LayerVersion, previous: LayerVersion | None) -> dict:
    """A version and what changed since ``previous`` (the version before it; None for the first)."""
    return {
        "version": version.version,
        "name": version.name,
        "canonical_hash": version.canonical_hash,
        "formula": version.formula,
        "mode": version.mode,
        "created_at": version.created_at,
        "changes": {
            "from_version": previous.version if previous else None,
            "same_function": bool(previous) and previous.canonical_hash == version.canonical_hash,
            "items": document_diff(previous.document, version.document) if previous else [],
        },
    }


def layer_version_summaries(*, owner: AbstractBaseUser, layer_id: int) -> list[dict]:
    """Every version, newest first, each with its changes since the one before."""
    versions = list(layer_versions(owner=owner, layer_id=layer_id))
    return [layer_version_summary(v, versions[k + 1] if k + 1 < len(versions) else None)
            for k, v in enumerate(versions)]


def layer_version_previous(version: LayerVersion) -> LayerVersion | None:
    return (LayerVersion.objects.filter(layer_id=version.layer_id, version__lt=version.version)
            .order_by("-version").first())


def _call(node: dict) -> str:
    return f"{node['op']}({', '.join(node.get('inputs', []))})"


def _params(params: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted((params or {}).items())) or "none"


def document_diff(old: dict, new: dict) -> list[dict]:
    """What changed from ``old`` to ``new`` (two valid documents), by node id, in plain words.

    Layout (``ui``) is not compared. Kinds: node_added, node_removed, op_changed,
    inputs_changed, params_changed, output_changed, renamed, setting_changed.
    """
    items: list[dict] = []
    before = {n["id"]: n for n in old.get("nodes", [])}
    after = {n["id"]: n for n in new.get("nodes", [])}
    for node_id, node in after.items():
        if node_id not in before:
            items.append({"kind": "node_added", "node": node_id, "text": f"added {node_id} = {_call(node)}"})
    for node_id, node in before.items():
        if node_id not in after:
            items.append({"kind": "node_removed", "node": node_id, "text": f"removed {node_id} = {_call(node)}"})
    for node_id, node in after.items():
        was = before.get(node_id)
        if was is None:
            continue
        if was["op"] != node["op"]:
            items.append({"kind": "op_changed", "node": node_id,
                          "text": f"{node_id}: {was['op']} → {node['op']}"})
        if list(was.get("inputs", [])) != list(node.get("inputs", [])):
            items.append({"kind": "inputs_changed", "node": node_id,
                          "text": f"{node_id}: inputs ({', '.join(was['inputs'])}) → ({', '.join(node['inputs'])})"})
        if (was.get("params") or {}) != (node.get("params") or {}):
            items.append({"kind": "params_changed", "node": node_id,
                          "text": f"{node_id}: {_params(was.get('params'))} → {_params(node.get('params'))}"})
    if old.get("output") != new.get("output"):
        items.append({"kind": "output_changed", "node": new.get("output"),
                      "text": f"output {old.get('output')} → {new.get('output')}"})
    if old.get("name") != new.get("name"):
        items.append({"kind": "renamed", "node": None, "text": f"renamed “{old.get('name')}” → “{new.get('name')}”"})
    for key in ("eps", "momentum"):
        if old.get(key) != new.get(key):
            items.append({"kind": "setting_changed", "node": None, "text": f"{key} {old.get(key)} → {new.get(key)}"})
    return items
