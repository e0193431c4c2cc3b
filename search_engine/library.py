"""Reference layers (EvoNorm-B0..S2, BN-ReLU, GN-ReLU) loadable by name.

The documents are package data in ``search_engine/layers/`` (copies of the
examples that GRAPH_FORMAT.md says must load and compute correctly). A slug is
the file's stem (``evonorm_b0``); a layer is also found by its display name
(``EvoNorm-B0``), case-insensitively.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

from search_engine.graph import LayerGraph

# The paper's layers first, then the classic baselines; any other file after.
_ORDER = ("evonorm_b0", "evonorm_b1", "evonorm_b2", "evonorm_s0", "evonorm_s1", "evonorm_s2",
          "bn_relu", "gn_relu")


@lru_cache(maxsize=1)
def _documents() -> dict[str, dict[str, Any]]:
    folder = resources.files("search_engine") / "layers"
    docs = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            docs[entry.name[: -len(".json")]] = json.loads(entry.read_text(encoding="utf-8"))
    rank = {slug: i for i, slug in enumerate(_ORDER)}
    return dict(sorted(docs.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))


def _normalise(name: str) -> str:
    return name.strip().lower().replace("-", "_").replace(" ", "_")


def reference_layers() -> dict[str, LayerGraph]:
    """Every reference layer, keyed by slug, EvoNorms first (fresh objects each call)."""
    return {slug: LayerGraph.from_dict(doc) for slug, doc in _documents().items()}


def load_reference(slug_or_name: str) -> LayerGraph:
    """One reference layer by slug (``evonorm_s0``) or name (``EvoNorm-S0``); KeyError otherwise."""
    wanted = _normalise(slug_or_name) if isinstance(slug_or_name, str) else None
    for slug, doc in _documents().items():
        if wanted in (slug, _normalise(doc.get("name", ""))):
            return LayerGraph.from_dict(doc)
    known = ", ".join(f"{slug} ({doc['name']})" for slug, doc in _documents().items())
    raise KeyError(f"no reference layer {slug_or_name!r}; known: {known}")


def reference_catalog() -> list[dict[str, Any]]:
    """``[{slug, name, document, formula, mode, canonical_hash}]`` for the API and the UI."""
    return [
        {
            "slug": slug,
            "name": graph.name,
            "document": graph.to_dict(),
            "formula": graph.formula(),
            "mode": graph.mode,
            "canonical_hash": graph.canonical_hash(),
        }
        for slug, graph in reference_layers().items()
    ]
