"""Canonical form and hash: invariant under presentation, sensitive to the function."""

from __future__ import annotations

import hashlib
import json

import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_engine.canonical import structural_text
from search_engine.compiler import compile_graph
from search_engine.graph import LayerGraph, Node
from search_engine.ops import OPS
from tests.search_engine.strategies import ID_ALPHABET, layer_graphs

# Stored hashes identify layers in the database and deduplicate searches:
# changing canonicalisation silently breaks both, so these are pinned.
PINNED = {
    "evonorm_b0": "ddad37939959727a03770af9923e19572463af1c141320d0de4c949feea0488c",
    "evonorm_b1": "e7b51bc1efdb8ee08c1d03470a64716e58f949ca7062080448fa7567235f74a2",
    "evonorm_b2": "c8db0c5aac61a2048cab45d8232d2025281bfd23f5758484effece568404d578",
    "evonorm_s0": "0cf25056366a2277ad96cd0af47154df4799fad1d937529a2dd858c782c48fd0",
    "evonorm_s1": "cca59b54b5d625dc3dfad208f1bc2ef6deedd82f4852794ee4b092f423089ea6",
    "evonorm_s2": "48da7226d27df9788260718ffa4c16fb7f466f2514f18906ebbcae3d8bb8832e",
    "bn_relu": "d5bfe86ae7b799e4cb4652dbcc75dcf2d3c410183ef7f8a4767ba41049e9587a",
    "gn_relu": "f9813c7c9949ed988ca2a7d83f57ab2c9cc0875cf64761fb653964c42ebf93bd",
}

PROPS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_reference_hashes_are_pinned(references: dict[str, LayerGraph]) -> None:
    assert {slug: g.canonical_hash() for slug, g in references.items()} == PINNED


def test_canonical_dict_shape(references: dict[str, LayerGraph]) -> None:
    g = references["evonorm_s0"]
    canon = g.canonical_dict()
    assert set(canon) == {"format", "eps", "momentum", "nodes", "output"}
    assert [n["id"] for n in canon["nodes"]] == [f"t{i}" for i in range(1, 7)]
    assert canon["output"] == "t6"
    text = g.canonical_json()
    assert text == json.dumps(canon, sort_keys=True, separators=(",", ":"))
    assert g.canonical_hash() == hashlib.sha256(text.encode()).hexdigest()
    # The canonical form is itself a valid document, and a fixed point.
    again = LayerGraph.from_dict(canon)
    assert again.canonical_dict() == canon and again.canonical_hash() == g.canonical_hash()


def test_name_ui_dead_nodes_and_duplicates_do_not_change_the_hash(
    references: dict[str, LayerGraph],
) -> None:
    g = references["evonorm_b0"]
    doc = g.to_dict()
    doc["name"] = "something else"
    doc["ui"] = {"positions": {"bv": [1, 2]}}
    doc["nodes"].append({"id": "dead", "op": "exp", "inputs": ["out"]})
    # A second copy of a live subexpression computes the same value: merged.
    doc["nodes"].append({"id": "bv2", "op": "batch_var", "inputs": ["x"]})
    next(n for n in doc["nodes"] if n["id"] == "bs")["inputs"] = ["bv2"]
    assert LayerGraph.from_dict(doc).canonical_hash() == g.canonical_hash()


def test_hash_changes_with_eps_momentum_params_and_ops(references: dict[str, LayerGraph]) -> None:
    g = references["evonorm_s0"]
    doc = g.to_dict()
    variants = []
    for key, value in (("eps", 1e-3), ("momentum", 0.2)):
        variants.append({**doc, key: value})
    for change in ({"params": {"groups": 16}}, {"op": "group_sqmean"}, {"inputs": ["v1"]}):
        d = json.loads(json.dumps(doc))
        next(n for n in d["nodes"] if n["id"] == "gv").update(change)
        variants.append(d)
    hashes = {LayerGraph.from_dict(v).canonical_hash() for v in variants}
    assert len(hashes) == len(variants) and g.canonical_hash() not in hashes
    assert len({h for h in PINNED.values()}) == len(PINNED)


@st.composite
def presentations(draw: st.DrawFn) -> tuple[LayerGraph, LayerGraph]:
    """A graph and the same graph renamed, reordered, commutative inputs swapped."""
    g = draw(layer_graphs())
    ids = [n.id for n in g.nodes]
    new_ids = draw(st.lists(st.text(ID_ALPHABET, min_size=1, max_size=10).filter(
        lambda s: s not in ("x", "zero", "v0", "v1")), min_size=len(ids), max_size=len(ids),
        unique=True))
    rename = dict(zip(ids, new_ids, strict=True))
    nodes = []
    for n in g.nodes:
        inputs = tuple(rename.get(r, r) for r in n.inputs)
        if OPS[n.op].commutative and draw(st.booleans()):
            inputs = inputs[::-1]
        nodes.append(Node(rename[n.id], n.op, inputs, dict(n.params)))
    order = draw(st.permutations(range(len(nodes))))
    other = LayerGraph.from_nodes([nodes[i] for i in order], rename[g.output], eps=g.eps,
                                  momentum=g.momentum, name=draw(st.text(max_size=5)))
    return g, other


@PROPS
@given(presentations())
def test_hash_ignores_names_order_and_commutative_swaps(pair: tuple[LayerGraph, LayerGraph]) -> None:
    g, other = pair
    assert other.canonical_dict() == g.canonical_dict()
    assert other.canonical_hash() == g.canonical_hash()
    # One canonical program: the compiled modules have the same state.
    assert list(compile_graph(g, 4).state_dict()) == list(compile_graph(other, 4).state_dict())


def _outputs(g: LayerGraph, x: torch.Tensor) -> torch.Tensor:
    module = compile_graph(g, x.shape[1])
    # Non-default v0/v1 (same values for every graph) so they cannot hide behind 0 and 1.
    gen = torch.Generator().manual_seed(2)
    values = {name: torch.rand(x.shape[1], generator=gen) + 0.5 for name in ("v0", "v1")}
    with torch.no_grad():
        for name, value in values.items():
            if hasattr(module, name):
                getattr(module, name).copy_(value)
        return module(x)


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    if a.shape != b.shape:
        return False
    return bool(torch.isclose(a, b, rtol=1e-4, atol=1e-5, equal_nan=True).all())


@PROPS
@given(layer_graphs(max_nodes=8), layer_graphs(max_nodes=8))
def test_different_functions_have_different_hashes(g1: LayerGraph, g2: LayerGraph) -> None:
    x = torch.randn(4, 6, 3, 3, generator=torch.Generator().manual_seed(0))
    if g1.canonical_hash() == g2.canonical_hash():
        assert _same(_outputs(g1, x), _outputs(g2, x))
    elif not _same(_outputs(g1, x), _outputs(g2, x)):
        assert g1.canonical_hash() != g2.canonical_hash()


@PROPS
@given(layer_graphs(max_nodes=8), st.data())
def test_changing_a_live_op_changes_the_hash_when_it_changes_the_function(
    g: LayerGraph, data: st.DataObject
) -> None:
    live = g.live_nodes()
    target = data.draw(st.sampled_from(live))
    candidates = [op.name for op in OPS.values() if op.arity == len(target.inputs)
                  and op.name != target.op]
    new_op = data.draw(st.sampled_from(candidates))
    nodes = [Node(n.id, new_op, n.inputs) if n.id == target.id else n for n in g.nodes]
    changed = LayerGraph.from_nodes(nodes, g.output, eps=g.eps, momentum=g.momentum)
    x = torch.randn(4, 6, 3, 3, generator=torch.Generator().manual_seed(1))
    if not _same(_outputs(g, x), _outputs(changed, x)):
        assert changed.canonical_hash() != g.canonical_hash()


@settings(max_examples=300, deadline=None)
@given(layer_graphs(max_nodes=10))
def test_hand_written_canonical_text_equals_json_dumps(g: LayerGraph) -> None:
    """The search writes the canonical JSON and the structural keys by hand for
    speed; they must equal what json.dumps writes, byte for byte."""
    program = g.program()
    assert program.canonical_json() == json.dumps(
        program.canonical_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True,
        allow_nan=False)
    for node in g.live_nodes():
        child = list(node.inputs)
        assert structural_text(node.op, node.params, child) == json.dumps(
            [node.op, sorted(node.params.items()), child], separators=(",", ":"))


@settings(max_examples=200, deadline=None)
@given(layer_graphs(max_nodes=10))
def test_memoised_keys_and_cached_programs_equal_fresh_ones(g: LayerGraph) -> None:
    """Structural keys are memoised and programs cached across graphs: what a
    graph gets from the caches equals what it gets with both emptied."""
    from search_engine import canonical

    cached_keys = canonical.structural_keys(g)
    cached = canonical.build_program(g)
    for node in g.live_nodes():  # each key is the SHA-256 of its structural text
        child = [cached_keys[r] for r in node.inputs]
        if OPS[node.op].commutative:
            child.sort()
        text = structural_text(node.op, node.params, child)
        assert cached_keys[node.id] == hashlib.sha256(text.encode("ascii")).hexdigest()
    canonical._STRUCTURAL_KEYS.clear()
    canonical._PROGRAMS.clear()
    fresh = canonical.build_program(LayerGraph.from_dict(g.to_dict()))
    assert fresh is not cached
    assert canonical.structural_keys(g) == cached_keys
    assert fresh.steps == cached.steps and fresh.output == cached.output
    assert fresh.canonical_json() == cached.canonical_json()
    assert fresh.canonical_hash() == cached.canonical_hash() == g.canonical_hash()


def test_the_key_memo_is_bounded(monkeypatch) -> None:  # noqa: ANN001
    from search_engine import canonical

    monkeypatch.setattr(canonical, "STRUCTURAL_KEY_CACHE_SIZE", 3)
    canonical._STRUCTURAL_KEYS.clear()
    g = LayerGraph.from_nodes([Node(f"n{i}", "neg", (f"n{i - 1}" if i else "x",))
                               for i in range(8)], "n7")
    expected = g.canonical_hash()
    assert len(canonical._STRUCTURAL_KEYS) <= 3
    canonical._PROGRAMS.clear()
    assert LayerGraph.from_dict(g.to_dict()).canonical_hash() == expected
