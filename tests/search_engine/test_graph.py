"""LayerGraph: parsing, every validity rule with its error code, building from nodes."""

from __future__ import annotations

import copy
import json
import math
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_engine import graph as graph_module
from search_engine.graph import ERROR_CODES, GraphError, LayerGraph, Node
from tests.search_engine.strategies import json_values, layer_graphs, structured_json

S0 = {
    "format": "layer-graph/1",
    "name": "EvoNorm-S0",
    "eps": 1e-5,
    "momentum": 0.1,
    "nodes": [
        {"id": "a", "op": "mul", "inputs": ["v1", "x"]},
        {"id": "b", "op": "sigmoid", "inputs": ["a"]},
        {"id": "c", "op": "mul", "inputs": ["x", "b"]},
        {"id": "d", "op": "group_var", "inputs": ["x"], "params": {"groups": 32}},
        {"id": "e", "op": "sqrt", "inputs": ["d"]},
        {"id": "f", "op": "div", "inputs": ["c", "e"]},
    ],
    "output": "f",
    "ui": {"positions": {"a": [120, 40]}},
}


def edited(change: Callable[[dict[str, Any]], Any]) -> dict[str, Any]:
    doc = copy.deepcopy(S0)
    change(doc)
    return doc


def node(doc: dict[str, Any], node_id: str) -> dict[str, Any]:
    return next(n for n in doc["nodes"] if n["id"] == node_id)


def test_the_formats_example_parses_and_round_trips() -> None:
    g = LayerGraph.from_dict(S0)
    assert g.to_dict() == S0
    assert LayerGraph.from_dict(g.to_dict()) == g
    assert LayerGraph.from_json(json.dumps(S0)) == g
    assert g.mode == "S" and g.name == "EvoNorm-S0"
    assert g.formula() == "x*sigmoid(v1*x) / sqrt(group_var(x))"


def test_reference_documents_round_trip_exactly(references: dict[str, LayerGraph]) -> None:
    for g in references.values():
        doc = g.to_dict()
        assert LayerGraph.from_dict(json.loads(json.dumps(doc))).to_dict() == doc


def test_defaults_are_filled_and_written_back() -> None:
    doc = edited(lambda d: [d.pop("eps"), d.pop("momentum"), d.pop("name"), d.pop("ui"),
                            node(d, "d").pop("params")])
    g = LayerGraph.from_dict(doc)
    assert (g.eps, g.momentum, g.name, g.ui) == (1e-5, 0.1, "", None)
    assert g.node("d").params == {"groups": 32}
    assert g.to_dict()["nodes"][3]["params"] == {"groups": 32}
    assert LayerGraph.from_dict(g.to_dict()) == g


# Each row: (code, node named by the error or None, edit of the S0 document).
INVALID: list[tuple[str, str | None, Callable[[dict[str, Any]], Any]]] = [
    ("bad_format", None, lambda d: d.pop("format")),
    ("bad_format", None, lambda d: d.update(format="layer-graph/2")),
    ("bad_format", None, lambda d: d.update(format=1)),
    ("unknown_key", None, lambda d: d.update(extra=1)),
    ("unknown_key", "a", lambda d: node(d, "a").update(ui={})),
    ("missing_key", None, lambda d: d.pop("nodes")),
    ("missing_key", "a", lambda d: node(d, "a").pop("inputs")),
    ("missing_key", "a", lambda d: node(d, "a").pop("op")),
    ("missing_key", None, lambda d: d["nodes"][0].pop("id")),
    ("bad_type", None, lambda d: d.update(name=5)),
    ("bad_type", None, lambda d: d.update(eps="1e-5")),
    ("bad_type", None, lambda d: d.update(momentum=True)),
    ("bad_type", None, lambda d: d.update(nodes={})),
    ("bad_type", None, lambda d: d.update(output=["f"])),
    ("bad_type", None, lambda d: d.update(ui=[])),
    ("bad_type", None, lambda d: node(d, "a").update(id=7)),
    ("bad_type", "a", lambda d: node(d, "a").update(op=None)),
    ("bad_type", "a", lambda d: node(d, "a").update(inputs="x")),
    ("bad_type", "a", lambda d: node(d, "a").update(inputs=["x", 1])),
    ("bad_type", "d", lambda d: node(d, "d").update(params=[32])),
    ("bad_type", "d", lambda d: node(d, "d").update(params={"groups": 32.0})),
    ("bad_type", "d", lambda d: node(d, "d").update(params={"groups": True})),
    ("not_object", None, lambda d: d["nodes"].append("a")),
    ("not_finite", None, lambda d: d.update(eps=math.nan)),
    ("not_finite", None, lambda d: d.update(momentum=math.inf)),
    ("out_of_range", None, lambda d: d.update(eps=0)),
    ("out_of_range", None, lambda d: d.update(eps=0.2)),
    ("out_of_range", None, lambda d: d.update(eps=10**400)),
    ("out_of_range", None, lambda d: d.update(momentum=-0.5)),
    ("out_of_range", None, lambda d: d.update(momentum=1.5)),
    ("out_of_range", None, lambda d: d.update(name="n" * 101)),
    ("out_of_range", "d", lambda d: node(d, "d").update(params={"groups": 0})),
    ("out_of_range", "d", lambda d: node(d, "d").update(params={"groups": 1025})),
    ("bad_id", "a b", lambda d: node(d, "a").update(id="a b")),
    ("bad_id", "", lambda d: node(d, "a").update(id="")),
    ("bad_id", "x" * 33, lambda d: node(d, "a").update(id="x" * 33)),
    ("bad_id", "é", lambda d: node(d, "a").update(id="é")),
    ("reserved_id", "x", lambda d: node(d, "a").update(id="x")),
    ("reserved_id", "v1", lambda d: node(d, "a").update(id="v1")),
    ("duplicate_id", "a", lambda d: node(d, "b").update(id="a")),
    ("unknown_op", "a", lambda d: node(d, "a").update(op="relu")),
    ("unknown_op", "a", lambda d: node(d, "a").update(op="__class__")),
    ("arity", "a", lambda d: node(d, "a").update(inputs=["x"])),
    ("arity", "b", lambda d: node(d, "b").update(inputs=["a", "x"])),
    ("bad_param", "a", lambda d: node(d, "a").update(params={"groups": 2})),
    ("bad_param", "d", lambda d: node(d, "d").update(params={"group": 2})),
    ("unknown_input", "b", lambda d: node(d, "b").update(inputs=["nope"])),
    ("cycle", "b", lambda d: node(d, "b").update(inputs=["b"])),
    ("cycle", None, lambda d: node(d, "a").update(inputs=["v1", "c"])),
    ("missing_output", None, lambda d: d.pop("output")),
    ("unknown_output", None, lambda d: d.update(output="nope")),
    ("unknown_output", None, lambda d: d.update(output="x")),
    ("output_independent_of_x", "g",
     lambda d: [d["nodes"].append({"id": "g", "op": "exp", "inputs": ["v1"]}),
                d.update(output="g")]),
    ("too_many_nodes", None,
     lambda d: d["nodes"].extend({"id": f"n{i}", "op": "exp", "inputs": ["x"]}
                                 for i in range(251))),
]


@pytest.mark.parametrize(("code", "node_id", "change"), INVALID)
def test_each_rule_raises_its_code_naming_the_node(code: str, node_id: str | None,
                                                    change: Callable) -> None:
    with pytest.raises(GraphError) as info:
        LayerGraph.from_dict(edited(change))
    err = info.value
    assert err.code == code, str(err)
    assert code in ERROR_CODES
    if node_id is not None:
        assert err.node == node_id
        assert ascii(node_id)[:20].strip("'") in str(err)
    if code == "cycle":
        assert err.node in {"a", "b", "c"}
    assert err.to_dict() == {"code": code, "message": str(err), "node": err.node}


def test_every_code_is_documented_in_the_module_and_exercised() -> None:
    assert graph_module.__doc__ is not None
    for code in ERROR_CODES:
        assert f"``{code}``" in graph_module.__doc__
    exercised = {row[0] for row in INVALID} | {"not_object", "bad_json"}
    assert exercised == set(ERROR_CODES)


@pytest.mark.parametrize("value", [None, [], "x", 3, 2.5, True, [S0]])
def test_non_objects_are_refused(value: Any) -> None:
    with pytest.raises(GraphError) as info:
        LayerGraph.from_dict(value)
    assert info.value.code == "not_object" and info.value.node is None


@pytest.mark.parametrize("text", ["", "{", "[1,", "nan nan", b"\xff\xfe"])
def test_from_json_reports_bad_json(text: str | bytes) -> None:
    with pytest.raises(GraphError) as info:
        LayerGraph.from_json(text)
    assert info.value.code == "bad_json"


def test_messages_stay_short_for_huge_values() -> None:
    with pytest.raises(GraphError) as info:
        LayerGraph.from_dict(edited(lambda d: node(d, "a").update(id="é" * 10_000)))
    assert info.value.code == "bad_id" and len(str(info.value)) < 200


def test_deep_ui_is_refused_without_recursion_error() -> None:
    deep: Any = 1
    for _ in range(10_000):
        deep = [deep]
    with pytest.raises(GraphError) as info:
        LayerGraph.from_dict(edited(lambda d: d.update(ui={"deep": deep})))
    assert info.value.code == "bad_type"


def test_long_chain_needs_no_recursion() -> None:
    nodes = [{"id": "n0", "op": "tanh", "inputs": ["x"]}]
    nodes += [{"id": f"n{i}", "op": "tanh", "inputs": [f"n{i - 1}"]} for i in range(1, 256)]
    g = LayerGraph.from_dict({"format": "layer-graph/1", "nodes": nodes[::-1], "output": "n255"})
    assert len(g.live_nodes()) == 256 and len(g.program().steps) == 256
    assert g.formula().count("tanh") == 256
    assert len(g.canonical_hash()) == 64


def test_live_and_dead_nodes_and_mode() -> None:
    doc = edited(lambda d: d["nodes"].extend([
        {"id": "dead1", "op": "batch_var", "inputs": ["x"]},
        {"id": "dead2", "op": "exp", "inputs": ["dead1"]},
    ]))
    g = LayerGraph.from_dict(doc)
    assert [n.id for n in g.live_nodes()] == ["a", "b", "c", "d", "e", "f"]
    assert [n.id for n in g.dead_nodes()] == ["dead1", "dead2"]
    # Dead nodes compute nothing, so a dead batch op does not make the layer batch-based.
    assert g.mode == "S" and g.has_batch_ops()
    assert LayerGraph.from_dict(edited(lambda d: node(d, "d").update(op="batch_var",
                                                                     params={}))).mode == "B"


def test_live_nodes_are_topological_whatever_the_list_order() -> None:
    g = LayerGraph.from_dict(edited(lambda d: d["nodes"].reverse()))
    order = [n.id for n in g.live_nodes()]
    for n in g.live_nodes():
        for ref in n.inputs:
            assert ref in ("x", "zero", "v0", "v1") or order.index(ref) < order.index(n.id)


def test_from_nodes_matches_from_dict_and_applies_the_same_rules() -> None:
    parsed = LayerGraph.from_dict(S0)
    built = LayerGraph.from_nodes(
        [Node(n["id"], n["op"], tuple(n["inputs"]), n.get("params", {})) for n in S0["nodes"]],
        "f", eps=1e-5, momentum=0.1, name="EvoNorm-S0", ui=S0["ui"],
    )
    assert built == parsed and built.canonical_hash() == parsed.canonical_hash()
    # Lists are accepted for inputs and normalised to tuples.
    listy = LayerGraph.from_nodes([Node("a", "exp", ["x"])], "a")  # type: ignore[arg-type]
    assert listy.node("a").inputs == ("x",)
    bad = [
        ([Node("a", "exp", ("x", "x"))], "a", "arity"),
        ([Node("a", "exp", ("b",))], "a", "unknown_input"),
        ([Node("a", "exp", ("a",))], "a", "cycle"),
        ([Node("a", "exp", ("v0",))], "a", "output_independent_of_x"),
        ([Node("a", "nope", ("x",))], "a", "unknown_op"),
        ([Node("a", "exp", (1,))], "a", "bad_type"),  # type: ignore[arg-type]
        ([Node(1, "exp", ("x",))], "a", "bad_type"),  # type: ignore[arg-type]
        (["a"], "a", "bad_type"),
        (None, "a", "bad_type"),
        ([Node("a", "exp", ("x",))], 3, "bad_type"),
        ([Node("a", "group_var", ("x",), {"groups": 0})], "a", "out_of_range"),
        ([Node("a", "exp", ("x",))] * 2, "a", "duplicate_id"),
    ]
    for nodes, output, code in bad:
        with pytest.raises(GraphError) as info:
            LayerGraph.from_nodes(nodes, output)  # type: ignore[arg-type]
        assert info.value.code == code
    with pytest.raises(GraphError) as info:
        LayerGraph.from_nodes([Node("a", "exp", ("x",))], "a", eps=0.5)
    assert info.value.code == "out_of_range"


def test_graph_is_hashable_and_nodes_are_hashable() -> None:
    g = LayerGraph.from_dict(S0)
    assert {g, LayerGraph.from_dict(S0)} == {g}
    assert len({*g.nodes, *LayerGraph.from_dict(S0).nodes}) == 6


def test_formula_binds_long_shared_subexpressions_instead_of_repeating_them() -> None:
    nodes = [Node("n0", "group_var", ("x",))]
    for i in range(1, 40):  # each node uses the previous one twice: 2**40 copies if inlined
        nodes.append(Node(f"n{i}", "add", (f"n{i - 1}", f"n{i - 1}")))
    nodes.append(Node("out", "mul", ("n39", "x")))
    text = LayerGraph.from_nodes(nodes, "out").formula()
    assert len(text) < 5_000 and " where " in text


@pytest.mark.parametrize(
    ("nodes", "output", "expected"),
    [
        ([Node("a", "batch_mean", ("x",)), Node("b", "neg", ("a",)), Node("c", "add", ("x", "b"))],
         "c", "x - batch_mean(x)"),
        ([Node("a", "add", ("x", "v0")), Node("b", "mul", ("a", "v1"))], "b", "(x + v0)*v1"),
        ([Node("a", "div", ("x", "v1")), Node("b", "mul", ("a", "v0"))], "b", "(x / v1)*v0"),
        ([Node("a", "mul", ("x", "v1")), Node("b", "div", ("x", "a"))], "b", "x / (x*v1)"),
        ([Node("a", "max", ("x", "zero"))], "a", "max(x, 0)"),
        ([Node("a", "group_var", ("x",), {"groups": 8})], "a", "group_var(x, groups=8)"),
        ([Node("a", "neg", ("x",)), Node("b", "mul", ("v1", "a"))], "b", "v1*(-x)"),
    ],
)
def test_formula_precedence(nodes: list[Node], output: str, expected: str) -> None:
    assert LayerGraph.from_nodes(nodes, output).formula() == expected


# --- properties -------------------------------------------------------------------

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(layer_graphs())
def test_random_valid_graphs_round_trip(g: LayerGraph) -> None:
    doc = json.loads(json.dumps(g.to_dict()))
    again = LayerGraph.from_dict(doc)
    assert again == g and again.to_dict() == doc
    assert again.canonical_hash() == g.canonical_hash()
    assert g.mode in ("B", "S") and g.formula()


def _parse_only_raises_graph_error(value: Any) -> None:
    try:
        g = LayerGraph.from_dict(value)
    except GraphError as err:
        assert err.code in ERROR_CODES
        assert err.node is None or isinstance(err.node, str)
    else:
        assert LayerGraph.from_dict(g.to_dict()) == g


@FAST
@given(json_values)
def test_random_json_raises_only_graph_error(value: Any) -> None:
    _parse_only_raises_graph_error(value)


@FAST
@given(structured_json)
def test_random_structured_json_raises_only_graph_error(value: Any) -> None:
    _parse_only_raises_graph_error(value)
    if isinstance(value, dict):
        _parse_only_raises_graph_error({**value, "format": "layer-graph/1"})


def _paths(value: Any, prefix: tuple = ()) -> list[tuple]:
    found = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            found += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += _paths(v, (*prefix, i))
    return found


@FAST
@given(layer_graphs(max_nodes=6), st.data())
def test_mutated_valid_documents_raise_only_graph_error(g: LayerGraph, data: st.DataObject) -> None:
    doc = g.to_dict()
    for _ in range(data.draw(st.integers(1, 3))):
        paths = [p for p in _paths(doc) if p]
        path = data.draw(st.sampled_from(paths))
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        action = data.draw(st.sampled_from(["replace", "delete", "ref"]))
        if action == "delete":
            del parent[path[-1]]
        elif action == "ref":
            parent[path[-1]] = data.draw(st.sampled_from(
                ["x", "zero", "v0", "v1", *(n.id for n in g.nodes)]))
        else:
            parent[path[-1]] = data.draw(structured_json)
    _parse_only_raises_graph_error(doc)


def test_from_parent_equals_from_nodes_and_still_checks_what_is_new() -> None:
    parent = LayerGraph.from_dict(S0)
    extra = Node("new", "neg", (parent.output,))
    child = LayerGraph.from_parent(parent, [*parent.nodes, extra], "new")
    assert child.to_dict() == LayerGraph.from_nodes([*parent.nodes, extra], "new",
                                                    eps=parent.eps,
                                                    momentum=parent.momentum).to_dict()
    bad = [(Node("new", "neg", ("x", "x")), "arity"), (Node("new", "nope", ("x",)), "unknown_op"),
           (Node(parent.nodes[0].id, "neg", ("x",)), "duplicate_id"),
           (Node("new", "neg", ("ghost",)), "unknown_input")]
    for node, code in bad:
        with pytest.raises(GraphError) as info:
            LayerGraph.from_parent(parent, [*parent.nodes, node], "new")
        assert info.value.code == code
    # the parent's own nodes are trusted, the graph rules are not skipped
    with pytest.raises(GraphError) as info:
        LayerGraph.from_parent(parent, [*parent.nodes, parent.nodes[0]], parent.output)
    assert info.value.code == "duplicate_id"
    with pytest.raises(GraphError) as info:
        LayerGraph.from_parent(parent, parent.nodes, "x")
    assert info.value.code == "unknown_output"


def _verdict(build: Callable[[], LayerGraph]) -> Any:
    """What building a graph gives: its structure, or the error's code, message and node."""
    try:
        g = build()
    except GraphError as exc:
        return ("error", exc.code, exc.message, exc.node)
    return ("graph", g.to_dict(), g.topological_order(), g.live_nodes(), g.eps, g.momentum)


_REFS = st.sampled_from(["x", "zero", "v0", "v1", "ghost", "n1", "n2", "n3"])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_graphs(max_nodes=8), st.data())
def test_from_parent_gives_from_nodes_verdict_on_random_edits(g: LayerGraph,
                                                              data: st.DataObject) -> None:
    """The incremental check of a derived graph (parent's nodes trusted, eps and
    momentum inherited) gives the full check's verdict, valid or not: code,
    message and node, or the same graph."""
    nodes = list(g.nodes)
    ids = [n.id for n in nodes]
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["rewire", "op", "drop", "add", "dup", "move"]))
        if action == "drop" and len(nodes) > 1:
            nodes.pop(data.draw(st.integers(0, len(nodes) - 1)))
        elif action == "dup":
            nodes.append(data.draw(st.sampled_from(nodes)))
        elif action == "move" and len(nodes) > 1:
            nodes.insert(data.draw(st.integers(0, len(nodes) - 1)),
                         nodes.pop(data.draw(st.integers(0, len(nodes) - 1))))
        elif action in ("rewire", "op", "add"):
            k = data.draw(st.integers(0, len(nodes) - 1))
            old = nodes[k]
            refs = st.one_of(_REFS, st.sampled_from(ids))
            op = data.draw(st.sampled_from(sorted(graph_module.OPS))) if action != "rewire" \
                else old.op
            arity = data.draw(st.sampled_from([graph_module.OPS[op].arity, 1, 2]))
            new = Node(data.draw(st.sampled_from([old.id, "n1", "n9", "x", "bad id"]))
                       if action == "add" else old.id, op,
                       tuple(data.draw(refs) for _ in range(arity)), {})
            if action == "add":
                nodes.insert(k, new)
            else:
                nodes[k] = new
    output = data.draw(st.one_of(st.just(g.output), st.sampled_from([*ids, "x", "ghost"])))
    assert _verdict(lambda: LayerGraph.from_parent(g, nodes, output)) == _verdict(
        lambda: LayerGraph.from_nodes(nodes, output, eps=g.eps, momentum=g.momentum))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6))
def test_from_parent_agrees_with_from_nodes_on_search_mutations(seed: int) -> None:
    """The same on what the search makes: children of random layers and of
    their children, by each mutation (valid children and invalid ones)."""
    from search_engine.mutation import MUTATION_FUNCTIONS, MutationError
    from search_engine.random_layers import allowed_ops, output_follows_x, random_layer

    rng = random.Random(seed)
    parent = random_layer(rng, mode="B", num_nodes=rng.randint(1, 6))
    real = LayerGraph.from_parent
    seen: list[tuple] = []

    def spy(p: LayerGraph, nodes: Any, output: str) -> LayerGraph:
        nodes = list(nodes)
        seen.append((p, nodes, output))
        return real(p, nodes, output)

    graph_module.LayerGraph.from_parent = spy  # type: ignore[method-assign]
    try:
        for _ in range(6):
            for fn in MUTATION_FUNCTIONS.values():
                try:
                    child = fn(parent, rng, allowed_ops("B"))
                except (GraphError, MutationError):
                    continue
                if output_follows_x(child.nodes, child.output):
                    parent = child
    finally:
        graph_module.LayerGraph.from_parent = real  # type: ignore[method-assign]
    assert seen
    for p, nodes, output in seen:
        assert _verdict(lambda: real(p, nodes, output)) == _verdict(  # noqa: B023
            lambda: LayerGraph.from_nodes(nodes, output, eps=p.eps, momentum=p.momentum))  # noqa: B023
