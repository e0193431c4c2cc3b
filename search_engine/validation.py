"""The validity rules of GRAPH_FORMAT.md, shared by every way a graph is built.

:func:`parse_document` turns an arbitrary JSON value into typed fields (the
rules about JSON shapes); :func:`check_graph` applies the rules about the graph
itself (ids, ops, arity, params, references, cycles, output). Both raise only
:class:`~search_engine.graph.GraphError`: any other exception escaping from
here, for any input, is a bug.
"""

from __future__ import annotations

import heapq
import math
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from search_engine.graph import GraphError, Node
from search_engine.ops import (
    EPS_DEFAULT,
    EPS_MAX,
    FORMAT,
    ID_PATTERN,
    INPUT_NAMES,
    MAX_NAME_LENGTH,
    MAX_NODES,
    MOMENTUM_DEFAULT,
    MOMENTUM_MAX,
    OPS,
)

_ID_RE = re.compile(ID_PATTERN)
_GOOD_IDS: set[str] = set()  # ids known to match _ID_RE
_TOP_KEYS = frozenset({"format", "name", "eps", "momentum", "nodes", "output", "ui"})
_NODE_KEYS = frozenset({"id", "op", "inputs", "params"})
_UI_MAX_DEPTH = 64


def show(value: Any, limit: int = 40) -> str:
    """``repr`` of a user value, cut short so a 10 kB id cannot flood a message."""
    try:
        text = ascii(value)
    except Exception:  # a hostile __repr__ must not escape as a non-GraphError
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _node_label(node_id: Any) -> str | None:
    return node_id if isinstance(node_id, str) else None


@dataclass(frozen=True)
class DocumentFields:
    nodes: tuple[Node, ...]
    output: str
    eps: float
    momentum: float
    name: str
    ui: dict[str, Any] | None


@dataclass(frozen=True)
class CheckedGraph:
    nodes: tuple[Node, ...]  # normalised: inputs as tuples, params with defaults
    eps: float
    momentum: float
    order: tuple[str, ...]  # topological, ties in document order
    live: frozenset[str]
    by_id: dict[str, Node]


# --- JSON shape ----------------------------------------------------------------


def _number(value: Any, key: str, upper: float) -> float:
    # bool is an int in Python but not a number in JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise GraphError("bad_type", f"{key!r} must be a number, got {show(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise GraphError("not_finite", f"{key!r} must be finite, got {show(value)}")
    # Comparing before float() keeps huge JSON integers from overflowing.
    if not 0 < value <= upper:
        raise GraphError("out_of_range", f"{key!r} must satisfy 0 < {key} <= {upper}, got {show(value)}")
    return float(value)


def _check_ui(ui: Any) -> None:
    if not isinstance(ui, dict):
        raise GraphError("bad_type", f"'ui' must be an object, got {show(ui)}")
    stack: list[tuple[Any, int]] = [(ui, 1)]
    while stack:  # iterative: a deeply nested ui must not hit the recursion limit
        value, depth = stack.pop()
        if depth > _UI_MAX_DEPTH:
            raise GraphError("bad_type", f"'ui' is nested deeper than {_UI_MAX_DEPTH} levels")
        if isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str):
                    raise GraphError("bad_type", f"'ui' keys must be strings, got {show(k)}")
                stack.append((v, depth + 1))
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        elif value is not None and not isinstance(value, str | int | float | bool):
            raise GraphError("bad_type", f"'ui' holds a non-JSON value {show(value)}")


def _parse_node(index: int, raw: Any) -> Node:
    if not isinstance(raw, dict):
        raise GraphError("not_object", f"node #{index} is not an object: {show(raw)}")
    node_id = raw.get("id")
    label = _node_label(node_id)
    where = f"node {show(node_id)}" if label is not None else f"node #{index}"
    for key in raw:
        if key not in _NODE_KEYS:
            raise GraphError("unknown_key", f"{where}: unknown key {show(key)}", label)
    for key in ("id", "op", "inputs"):
        if key not in raw:
            raise GraphError("missing_key", f"{where}: missing {key!r}", label)
    if not isinstance(node_id, str):
        raise GraphError("bad_type", f"node #{index}: 'id' must be a string, got {show(node_id)}")
    op = raw["op"]
    if not isinstance(op, str):
        raise GraphError("bad_type", f"{where}: 'op' must be a string, got {show(op)}", label)
    inputs = raw["inputs"]
    if not isinstance(inputs, list):
        raise GraphError("bad_type", f"{where}: 'inputs' must be a list, got {show(inputs)}", label)
    params = raw.get("params", {})
    if not isinstance(params, dict):
        raise GraphError("bad_type", f"{where}: 'params' must be an object, got {show(params)}",
                         label)
    return Node(node_id, op, tuple(inputs), dict(params))


def parse_document(doc: Any) -> DocumentFields:
    """Check the JSON shape of a document; the graph rules follow in :func:`check_graph`."""
    if not isinstance(doc, dict):
        raise GraphError("not_object", f"a layer graph is a JSON object, got {show(doc)}")
    for key in doc:
        if key not in _TOP_KEYS:
            raise GraphError("unknown_key", f"unknown top-level key {show(key)}")
    if "format" not in doc:
        raise GraphError("bad_format", f"'format' is missing (expected {FORMAT!r})")
    if not isinstance(doc["format"], str) or doc["format"] != FORMAT:
        raise GraphError("bad_format", f"'format' must be {FORMAT!r}, got {show(doc['format'])}")
    name = doc.get("name", "")
    if not isinstance(name, str):
        raise GraphError("bad_type", f"'name' must be a string, got {show(name)}")
    eps = doc.get("eps", EPS_DEFAULT)
    momentum = doc.get("momentum", MOMENTUM_DEFAULT)
    if "nodes" not in doc:
        raise GraphError("missing_key", "'nodes' is missing")
    raw_nodes = doc["nodes"]
    if not isinstance(raw_nodes, list):
        raise GraphError("bad_type", f"'nodes' must be a list, got {show(raw_nodes)}")
    if len(raw_nodes) > MAX_NODES:
        raise GraphError("too_many_nodes", f"{len(raw_nodes)} nodes; at most {MAX_NODES} allowed")
    nodes = tuple(_parse_node(i, raw) for i, raw in enumerate(raw_nodes))
    if "output" not in doc:
        raise GraphError("missing_output", "'output' is missing")
    output = doc["output"]
    if not isinstance(output, str):
        raise GraphError("bad_type", f"'output' must be a string, got {show(output)}")
    ui = doc.get("ui")
    if "ui" in doc and ui is None:  # optional means absent; check_graph checks the rest
        raise GraphError("bad_type", "'ui' must be an object, got None")
    return DocumentFields(nodes, output, eps, momentum, name, ui)


# --- graph rules -----------------------------------------------------------------


def _check_params(node: Node) -> dict[str, Any]:
    op = OPS[node.op]
    if not isinstance(node.params, Mapping):
        raise GraphError("bad_type", f"node {show(node.id)}: 'params' must be an object", node.id)
    full: dict[str, Any] = {}
    for key, value in node.params.items():
        spec = op.param(key) if isinstance(key, str) else None
        if spec is None:
            takes = ", ".join(p.name for p in op.params) or "no params"
            raise GraphError("bad_param",
                             f"node {show(node.id)}: op {op.name!r} takes {takes}, not {show(key)}",
                             node.id)
        if isinstance(value, bool) or not isinstance(value, int):
            raise GraphError("bad_type",
                             f"node {show(node.id)}: {key!r} must be an integer, got {show(value)}",
                             node.id)
        if not spec.min <= value <= spec.max:
            raise GraphError("out_of_range",
                             f"node {show(node.id)}: {key!r} must be in {spec.min}..{spec.max}, "
                             f"got {show(value)}", node.id)
        full[key] = value
    for spec in op.params:
        full.setdefault(spec.name, spec.default)
    return full


def _check_node(node: Any, seen: set[str]) -> Node:
    if not isinstance(node, Node):
        raise GraphError("bad_type", f"expected a Node, got {show(node)}")
    if not isinstance(node.id, str):
        raise GraphError("bad_type", f"node id must be a string, got {show(node.id)}")
    where = f"node {show(node.id)}"
    if node.id in INPUT_NAMES:
        raise GraphError("reserved_id", f"{where}: the id shadows the input {node.id!r}", node.id)
    if node.id not in _GOOD_IDS:
        if not _ID_RE.fullmatch(node.id):
            raise GraphError("bad_id", f"{where}: an id is 1-32 characters of [A-Za-z0-9_-]",
                             node.id)
        if len(_GOOD_IDS) < 4096:  # the search's ids (n1, n2, ...) come back again and again
            _GOOD_IDS.add(node.id)
    if node.id in seen:
        raise GraphError("duplicate_id", f"{where}: the id is used twice", node.id)
    seen.add(node.id)
    if not isinstance(node.op, str):
        raise GraphError("bad_type", f"{where}: 'op' must be a string, got {show(node.op)}", node.id)
    op = OPS.get(node.op)
    if op is None:
        raise GraphError("unknown_op", f"{where}: unknown op {show(node.op)}", node.id)
    inputs = node.inputs
    if not isinstance(inputs, tuple | list):
        raise GraphError("bad_type", f"{where}: 'inputs' must be a list", node.id)
    for ref in inputs:
        if not isinstance(ref, str):
            raise GraphError("bad_type", f"{where}: inputs must be strings, got {show(ref)}", node.id)
    if len(inputs) != op.arity:
        raise GraphError("arity",
                         f"{where}: op {op.name!r} takes {op.arity} input(s), got {len(inputs)}",
                         node.id)
    params = _check_params(node)
    if type(inputs) is tuple and params == node.params:
        return node
    return Node(node.id, node.op, tuple(inputs), params)


def _check_known(node: Node, seen: set[str]) -> Node:
    """A node that passed :func:`_check_node` in a valid graph: only its id's
    uniqueness in this one is new."""
    if node.id in seen:
        raise GraphError("duplicate_id", f"node {show(node.id)}: the id is used twice", node.id)
    seen.add(node.id)
    return node


def _topological(nodes: tuple[Node, ...]) -> tuple[str, ...]:
    """Kahn's algorithm, ties broken by document order; raises on a cycle.

    A list already in topological order (each node after the nodes it reads,
    as the search writes them) is its own answer: Kahn's algorithm with ties
    in document order returns it unchanged, so that case is checked first.
    """
    earlier: set[str] = set()
    for n in nodes:
        for r in n.inputs:
            if r not in earlier and r not in INPUT_NAMES:
                break
        else:
            earlier.add(n.id)
            continue
        break
    else:
        return tuple(n.id for n in nodes)
    position = {n.id: i for i, n in enumerate(nodes)}
    pending = {n.id: sum(1 for r in n.inputs if r in position) for n in nodes}
    users: dict[str, list[str]] = {n.id: [] for n in nodes}
    for n in nodes:
        for ref in n.inputs:
            if ref in position:
                users[ref].append(n.id)
    ready = [i for i, n in enumerate(nodes) if pending[n.id] == 0]  # a heap of positions
    order: list[str] = []
    while ready:
        current = nodes[heapq.heappop(ready)].id
        order.append(current)
        for user in users[current]:
            pending[user] -= 1
            if pending[user] == 0:
                heapq.heappush(ready, position[user])
    if len(order) < len(nodes):
        by_id = {n.id: n for n in nodes}
        # Walk back through unfinished inputs until a node repeats: it lies on a cycle.
        current = next(n.id for n in nodes if pending[n.id] > 0)
        visited: set[str] = set()
        while current not in visited:
            visited.add(current)
            current = next(r for r in by_id[current].inputs if r in pending and pending[r] > 0)
        raise GraphError("cycle", f"node {show(current)} is part of a cycle", current)
    return tuple(order)


def _ancestors(nodes_by_id: Mapping[str, Node], start: str) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        node = nodes_by_id.get(stack.pop())
        if node is None:
            continue  # an input
        for ref in node.inputs:
            if ref not in seen:
                seen.add(ref)
                stack.append(ref)
    return seen


def check_name(name: Any) -> str:
    """A layer's name: a string of at most MAX_NAME_LENGTH characters."""
    if not isinstance(name, str):
        raise GraphError("bad_type", f"'name' must be a string, got {show(name)}")
    if len(name) > MAX_NAME_LENGTH:
        raise GraphError("out_of_range", f"'name' is {len(name)} characters; at most {MAX_NAME_LENGTH}")
    return name


def check_graph(
    nodes: Iterable[Node],
    output: Any,
    *,
    eps: Any,
    momentum: Any,
    name: Any,
    ui: Any,
    checked_nodes: Iterable[Node] = (),
) -> CheckedGraph:
    """Apply every graph rule; returns normalised nodes and derived structure.

    ``checked_nodes``: nodes of an already valid graph (the very objects, which
    are immutable); those among ``nodes`` skip the per-node rules they passed
    then (id, op, arity, params), not the rules about the whole graph.
    """
    if isinstance(nodes, str | bytes | Mapping):
        raise GraphError("bad_type", "'nodes' must be a sequence of Node")
    try:
        node_list = list(nodes)
    except TypeError:
        raise GraphError("bad_type", "'nodes' must be a sequence of Node") from None
    if len(node_list) > MAX_NODES:
        raise GraphError("too_many_nodes", f"{len(node_list)} nodes; at most {MAX_NODES} allowed")
    check_name(name)
    eps_value = _number(eps, "eps", EPS_MAX)
    momentum_value = _number(momentum, "momentum", MOMENTUM_MAX)
    if ui is not None:
        _check_ui(dict(ui) if isinstance(ui, Mapping) else ui)
    trusted = {id(n) for n in checked_nodes}
    return check_structure(node_list, output, eps_value, momentum_value, trusted)


def check_structure(
    node_list: list[Node], output: Any, eps: float, momentum: float, trusted: Collection[int],
) -> CheckedGraph:
    """The rules of :func:`check_graph` about the nodes and the output, for
    ``eps``/``momentum`` already checked (a derived graph inherits them from its
    valid parent, and its empty name and absent ``ui`` need no check). Nodes
    whose ``id()`` is in ``trusted`` (the very node objects of a valid graph,
    which are immutable) skip the per-node rules they passed then; every rule
    about the whole graph runs, so a derived graph gets the verdict (code and
    message) that :func:`check_graph` gives it.
    """
    if len(node_list) > MAX_NODES:
        raise GraphError("too_many_nodes", f"{len(node_list)} nodes; at most {MAX_NODES} allowed")
    seen: set[str] = set()
    checked = []
    for n in node_list:
        if id(n) in trusted:  # _check_known, inlined: only its id's uniqueness is new
            if n.id in seen:
                raise GraphError("duplicate_id", f"node {show(n.id)}: the id is used twice", n.id)
            seen.add(n.id)
            checked.append(n)
        else:
            checked.append(_check_node(n, seen))
    # unknown inputs, in document order; and whether the document order is topological
    in_order = True
    earlier: set[str] = set()
    for n in checked:
        for ref in n.inputs:
            if ref not in earlier and ref not in INPUT_NAMES:
                if ref not in seen:
                    raise GraphError("unknown_input", f"node {show(n.id)}: input {show(ref)} "
                                     "names no node and no input", n.id)
                in_order = False
        earlier.add(n.id)
    nodes = tuple(checked)
    order = tuple(n.id for n in nodes) if in_order else _topological(nodes)
    if not isinstance(output, str):
        raise GraphError("bad_type", f"'output' must be a string, got {show(output)}")
    if output not in seen:
        hint = " (it must name a node, not an input)" if output in INPUT_NAMES else ""
        raise GraphError("unknown_output", f"output {show(output)} names no node{hint}")
    by_id = {n.id: n for n in nodes}
    live = _ancestors(by_id, output)
    if "x" not in live:
        raise GraphError("output_independent_of_x",
                         f"output node {show(output)} does not depend on 'x'", output)
    live_nodes = frozenset(i for i in live if i in by_id)
    return CheckedGraph(nodes, eps, momentum, order, live_nodes, by_id)
