"""Reference layers: loadable by slug or name, catalogued, and as the paper states them."""

from __future__ import annotations

import json

import pytest

from search_engine.graph import LayerGraph
from search_engine.library import load_reference, reference_catalog, reference_layers

FORMULAS = {
    "evonorm_b0": ("EvoNorm-B0", "B", "x / max(sqrt(batch_var(x)), v1*x + sqrt(instance_var(x)))"),
    "evonorm_b1": ("EvoNorm-B1", "B",
                   "x / max(sqrt(batch_var(x)), (x + v1)*sqrt(instance_sqmean(x)))"),
    "evonorm_b2": ("EvoNorm-B2", "B", "x / max(sqrt(batch_var(x)), sqrt(instance_sqmean(x)) - x)"),
    "evonorm_s0": ("EvoNorm-S0", "S", "x*sigmoid(v1*x) / sqrt(group_var(x))"),
    "evonorm_s1": ("EvoNorm-S1", "S", "x*sigmoid(x) / sqrt(group_var(x))"),
    "evonorm_s2": ("EvoNorm-S2", "S", "x*sigmoid(x) / sqrt(group_sqmean(x))"),
    "bn_relu": ("BN-ReLU", "B", "max(((x - batch_mean(x)) / sqrt(batch_var(x)))*v1 + v0, 0)"),
    "gn_relu": ("GN-ReLU", "S", "max(((x - group_mean(x)) / sqrt(group_var(x)))*v1 + v0, 0)"),
}


def test_reference_layers_are_the_papers() -> None:
    layers = reference_layers()
    assert list(layers) == list(FORMULAS)
    for slug, g in layers.items():
        name, mode, formula = FORMULAS[slug]
        assert (g.name, g.mode, g.formula()) == (name, mode, formula)
        assert (g.eps, g.momentum) == (1e-5, 0.1)


@pytest.mark.parametrize("key", ["evonorm_s0", "EvoNorm-S0", "evonorm-s0", " EVONORM_S0 "])
def test_load_by_slug_or_name(key: str) -> None:
    assert load_reference(key).name == "EvoNorm-S0"


def test_unknown_names_list_the_known_ones() -> None:
    with pytest.raises(KeyError) as info:
        load_reference("EvoNorm-X9")
    for slug, (name, _, _) in FORMULAS.items():
        assert slug in str(info.value) and name in str(info.value)
    with pytest.raises(KeyError):
        load_reference(None)  # type: ignore[arg-type]


def test_loaded_graphs_are_independent() -> None:
    a, b = load_reference("bn_relu"), load_reference("bn_relu")
    assert a == b and a is not b


def test_catalog_is_json_and_consistent() -> None:
    catalog = json.loads(json.dumps(reference_catalog(), allow_nan=False))
    assert [entry["slug"] for entry in catalog] == list(FORMULAS)
    for entry in catalog:
        assert set(entry) == {"slug", "name", "document", "formula", "mode", "canonical_hash"}
        g = LayerGraph.from_dict(entry["document"])
        assert g.canonical_hash() == entry["canonical_hash"]
        assert (entry["name"], entry["mode"], entry["formula"]) == FORMULAS[entry["slug"]]
