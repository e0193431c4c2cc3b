"""Hypothesis strategies for the graph-core tests: random valid graphs and JSON.

This is the tests' own generator (the engine's random layer sampler lives in
the search code): it draws ops and inputs node by node like the paper, gives
nodes random ids, keeps some dead nodes, shuffles the node list, and makes
sure the output depends on ``x``.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from search_engine.graph import LayerGraph, Node
from search_engine.ops import INPUT_NAMES, OPS

ID_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
_ids = st.text(ID_ALPHABET, min_size=1, max_size=8).filter(lambda s: s not in INPUT_NAMES)


@st.composite
def node_lists(
    draw: st.DrawFn,
    *,
    min_nodes: int = 1,
    max_nodes: int = 12,
    mode: str | None = None,
) -> tuple[list[Node], str]:
    """``(nodes, output)`` of a valid graph, nodes in a shuffled order."""
    names = [op.name for op in OPS.values() if mode != "S" or not op.batch]
    count = draw(st.integers(min_nodes, max_nodes))
    ids = draw(st.lists(_ids, min_size=count, max_size=count, unique=True))
    nodes: list[Node] = []
    depends_on_x = {"x": True, "zero": False, "v0": False, "v1": False}
    available = list(INPUT_NAMES)
    for node_id in ids:
        op = OPS[draw(st.sampled_from(names))]
        # Favour x and recent nodes, as a layer built by hand would.
        pick = st.one_of(st.just("x"), st.sampled_from(available), st.sampled_from(available[-3:]))
        inputs = tuple(draw(pick) for _ in range(op.arity))
        params: dict[str, Any] = {}
        if op.params and draw(st.booleans()):
            params["groups"] = draw(st.sampled_from([1, 2, 3, 4, 8, 16, 32, 1024]))
        nodes.append(Node(node_id, op.name, inputs, params))
        depends_on_x[node_id] = any(depends_on_x[r] for r in inputs)
        available.append(node_id)
    candidates = [n.id for n in nodes if depends_on_x[n.id]]
    # Appended ids are 9 characters long, so they never collide with drawn ones.
    if candidates:
        output = draw(st.sampled_from(candidates[-3:]))
    else:
        output = "zz_output"
        op = draw(st.sampled_from(["add", "mul", "max", "div"]))
        nodes.append(Node(output, op, (nodes[-1].id, "x")))
    if mode == "B" and LayerGraph.from_nodes(nodes, output).mode == "S":
        stat = draw(st.sampled_from(["batch_mean", "batch_sqmean", "batch_var"]))
        nodes.append(Node("zz_bstat_", stat, ("x",)))
        nodes.append(Node("zz_bout__", "add", (output, "zz_bstat_")))
        output = "zz_bout__"
    order = draw(st.permutations(range(len(nodes))))
    return [nodes[i] for i in order], output


@st.composite
def layer_graphs(
    draw: st.DrawFn,
    *,
    min_nodes: int = 1,
    max_nodes: int = 12,
    mode: str | None = None,
) -> LayerGraph:
    """A random valid :class:`LayerGraph` (``mode`` "S" never draws batch ops)."""
    nodes, output = draw(node_lists(min_nodes=min_nodes, max_nodes=max_nodes, mode=mode))
    eps = draw(st.sampled_from([1e-5, 1e-3, 0.1]))
    momentum = draw(st.sampled_from([0.1, 0.5, 1.0]))
    name = draw(st.text(max_size=20))
    return LayerGraph.from_nodes(nodes, output, eps=eps, momentum=momentum, name=name)


json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.text(max_size=8), inner, max_size=4),
    ),
    max_leaves=20,
)
# Keys the format knows, so random objects reach deeper validation paths.
_known_keys = st.sampled_from(
    ["format", "name", "eps", "momentum", "nodes", "output", "ui", "id", "op", "inputs", "params",
     "groups"]
)
_known_values = st.one_of(
    json_values,
    st.sampled_from(["layer-graph/1", "x", "zero", "v0", "v1", *OPS]),
)
structured_json = st.recursive(
    _known_values,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_known_keys, st.text(max_size=4)), inner, max_size=7),
    ),
    max_leaves=30,
)
