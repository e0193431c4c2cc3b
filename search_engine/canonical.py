"""The canonical form of a graph and the straight-line program derived from it.

GRAPH_FORMAT.md defines identity: drop ``name``, ``ui`` and dead nodes, sort
the inputs of commutative ops, rename nodes in a deterministic topological
order, write keys sorted; the SHA-256 of that text is the graph's hash.

To make the order independent of ids and of the node list, every live node
gets a structural key (a Merkle hash of its op, params and its inputs' keys,
sorted for commutative ops). Nodes with equal keys compute the same value, so
they become one step (common subexpressions merge: same function, same hash).
Steps are numbered in post-order from the output, visiting inputs in their
(sorted) order; step ``k`` is named ``t{k}``.

The compiler and code generation both consume :class:`Program`, so the
compiled module and the exported class share one naming of values, parameters
and running buffers (``running_{k}`` for the batch op computed as ``t{k}``).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from search_engine.ops import FORMAT, OPS, Op

if TYPE_CHECKING:
    from search_engine.graph import LayerGraph, Node

Ref = str | int  # an input name ("x", "zero", "v0", "v1") or a step index

# Which axes of (B, C, H, W) a value varies along: "B", "C" and "S" (H and W).
FULL = frozenset({"B", "C", "S"})
_INPUT_DIMS = {"x": FULL, "zero": frozenset(), "v0": frozenset({"C"}), "v1": frozenset({"C"})}
_KEPT_DIMS = {
    "batch": frozenset({"C"}),
    "instance": frozenset({"B", "C"}),
    "group": frozenset({"B", "C"}),
    "layer": frozenset({"B"}),
}


# Trainable per-channel tensors and their initial values (GRAPH_FORMAT.md).
PARAMETER_INITS: dict[str, float] = {"v0": 0.0, "v1": 1.0, "weight": 1.0, "bias": 0.0}


def running_name(index: int) -> str:
    """The buffer holding the running statistic of the batch op computed as ``t{index}``."""
    return f"running_{index}"


class Step(NamedTuple):
    index: int  # 1-based; the value is t{index}
    op: Op
    args: tuple[Ref, ...]
    params: dict[str, Any]
    dims: frozenset[str]

    @property
    def running(self) -> str | None:
        return running_name(self.index) if self.op.batch else None

    @property
    def running_init(self) -> float:
        # The format: running means start at 0, second moments and variances at 1.
        return 0.0 if self.op.stat == "mean" else 1.0


@dataclass(frozen=True)
class Program:
    steps: tuple[Step, ...]
    output: int
    eps: float
    momentum: float

    @property
    def used_inputs(self) -> frozenset[str]:
        return frozenset(a for s in self.steps for a in s.args if isinstance(a, str))

    @property
    def parameters(self) -> tuple[tuple[str, float], ...]:
        """``(name, initial value)`` of every trainable tensor, in registration order."""
        names = [v for v in ("v0", "v1") if v in self.used_inputs] + ["weight", "bias"]
        return tuple((p, PARAMETER_INITS[p]) for p in names)

    @property
    def buffers(self) -> tuple[tuple[str, float], ...]:
        """``(name, initial value)`` of every running buffer, in step order."""
        return tuple((s.running, s.running_init) for s in self.steps if s.running)

    @property
    def output_is_full(self) -> bool:
        """Whether the output already has the input's full (B, C, H, W) shape."""
        return self.steps[self.output - 1].dims == FULL

    def canonical_dict(self) -> dict[str, Any]:
        def ref(a: Ref) -> str:
            return a if isinstance(a, str) else f"t{a}"

        nodes = []
        for s in self.steps:
            node: dict[str, Any] = {"id": f"t{s.index}", "op": s.op.name,
                                    "inputs": [ref(a) for a in s.args]}
            if s.op.params:
                node["params"] = dict(s.params)
            nodes.append(node)
        return {"format": FORMAT, "eps": self.eps, "momentum": self.momentum,
                "nodes": nodes, "output": f"t{self.output}"}

    def canonical_json(self) -> str:
        """``json.dumps(self.canonical_dict(), sort_keys=True, separators=(",", ":"),
        ensure_ascii=True, allow_nan=False)``, written out directly (the search
        hashes every layer it draws): ids, ops and parameter names need no
        escaping, parameters are integers, eps and momentum finite floats."""
        def ref(a: Ref) -> str:
            return a if isinstance(a, str) else f"t{a}"

        nodes = []
        for s in self.steps:
            text = '{"id":"t' + str(s.index) + '","inputs":["' + '","'.join(map(ref, s.args)) \
                + '"],"op":"' + s.op.name + '"'
            if s.op.params:
                text += ',"params":{' + ",".join(
                    f'"{k}":{int(v)}' for k, v in sorted(s.params.items())) + "}"
            nodes.append(text + "}")
        return ('{"eps":' + float.__repr__(self.eps) + ',"format":"' + FORMAT
                + '","momentum":' + float.__repr__(self.momentum) + ',"nodes":['
                + ",".join(nodes) + '],"output":"t' + str(self.output) + '"}')

    def canonical_hash(self) -> str:
        digest = self.__dict__.get("_hash")
        if digest is None:  # computed once: programs are shared (see _PROGRAMS)
            digest = hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()
            object.__setattr__(self, "_hash", digest)
        return digest


def structural_text(op: str, params: dict[str, Any], child: list[str]) -> str:
    """``json.dumps([op, sorted(params.items()), child], separators=(",", ":"))``,
    written out directly (the search hashes every layer it draws): op names,
    keys and parameter names need no escaping and parameters are integers."""
    items = ",".join(f'["{k}",{int(v)}]' for k, v in sorted(params.items()))
    return '["' + op + '",[' + items + '],["' + '","'.join(child) + '"]]'


# Programs by (output's structural key, eps, momentum), which determine them:
# a search draws the same layer again and again (a duplicate child, a seed),
# and the order, canonical text and hash need not be redone. Bounded, least
# recently used out first.
_PROGRAMS: OrderedDict[tuple[str, float, float], Program] = OrderedDict()
PROGRAM_CACHE_SIZE = 4096

# Structural keys by (op, sorted params, inputs' keys in canonical order): a
# pure function (the SHA-256 of structural_text), memoised because a search
# keys the same subexpressions in every child of a parent. Emptied when full
# (it holds no state: a key computed again is the same key).
_STRUCTURAL_KEYS: dict[tuple, str] = {}
STRUCTURAL_KEY_CACHE_SIZE = 1 << 16


def structural_key(op: str, params: dict[str, Any], child: list[str]) -> str:
    """SHA-256 (hex) of :func:`structural_text`: a node's structural key, from
    its inputs' keys (already in canonical order)."""
    memo = (op, tuple(sorted(params.items())) if params else (), *child)
    key = _STRUCTURAL_KEYS.get(memo)
    if key is None:
        key = hashlib.sha256(structural_text(op, params, child).encode("ascii")).hexdigest()
        if len(_STRUCTURAL_KEYS) >= STRUCTURAL_KEY_CACHE_SIZE:
            _STRUCTURAL_KEYS.clear()
        _STRUCTURAL_KEYS[memo] = key
    return key


def structural_keys(graph: LayerGraph) -> dict[str, str]:
    """The structural key of every input (``input:<name>``) and live node of ``graph``."""
    keys: dict[str, str] = dict(_INPUT_KEYS)
    memo = _STRUCTURAL_KEYS
    for node in graph.live_nodes():  # topological, so inputs are keyed first
        inputs = node.inputs
        if len(inputs) == 2:
            a, b = keys[inputs[0]], keys[inputs[1]]
            if b < a and OPS[node.op].commutative:
                a, b = b, a
            lookup = (node.op, tuple(sorted(node.params.items())) if node.params else (), a, b)
            key = memo.get(lookup)
            if key is None:
                key = structural_key(node.op, node.params, [a, b])
        else:
            a = keys[inputs[0]]
            lookup = (node.op, tuple(sorted(node.params.items())) if node.params else (), a)
            key = memo.get(lookup)
            if key is None:
                key = structural_key(node.op, node.params, [a])
        keys[node.id] = key
    return keys


_INPUT_KEYS = {name: f"input:{name}" for name in _INPUT_DIMS}
_INPUT_INDEX: dict[str, Ref] = {f"input:{name}": name for name in _INPUT_DIMS}
_INPUT_KEY_DIMS = {f"input:{name}": dims for name, dims in _INPUT_DIMS.items()}


def build_program(graph: LayerGraph) -> Program:
    """Linearise the live part of ``graph`` in canonical order (see module docstring)."""
    keys = structural_keys(graph)
    identity = (keys[graph.output], graph.eps, graph.momentum)
    cached = _PROGRAMS.get(identity)
    if cached is not None:
        _PROGRAMS.move_to_end(identity)
        return cached

    # structural key -> (node, its op, its inputs' keys in canonical order)
    by_key: dict[str, tuple[Node, Op, list[str]]] = {}
    for node in graph.live_nodes():
        key = keys[node.id]
        if key not in by_key:
            op = OPS[node.op]
            child = [keys[r] for r in node.inputs]
            if op.commutative:
                child.sort()
            by_key[key] = (node, op, child)
    index: dict[str, Ref] = dict(_INPUT_INDEX)
    dims: dict[str, frozenset[str]] = dict(_INPUT_KEY_DIMS)
    steps: list[Step] = []
    # Iterative post-order DFS: a 256-node chain must not depend on the recursion limit.
    # A key on top of the stack is emitted once all its inputs are; until then its
    # inputs not yet emitted go on top, the first one uppermost.
    stack: list[str] = [keys[graph.output]]
    while stack:
        key = stack[-1]
        if key in index:
            stack.pop()
            continue
        node, op, child = by_key[key]
        todo = [c for c in child if c not in index]
        if todo:
            todo.reverse()
            stack += todo
            continue
        stack.pop()
        if op.category == "elementwise":
            node_dims = dims[child[0]] if len(child) == 1 else dims[child[0]] | dims[child[1]]
        else:
            node_dims = dims[child[0]] & _KEPT_DIMS[op.axes or ""]
        dims[key] = node_dims
        number = len(steps) + 1
        index[key] = number
        steps.append(Step(number, op, tuple([index[c] for c in child]), dict(node.params),
                          node_dims))
    program = Program(tuple(steps), index[keys[graph.output]], graph.eps, graph.momentum)
    _PROGRAMS[identity] = program
    if len(_PROGRAMS) > PROGRAM_CACHE_SIZE:
        _PROGRAMS.popitem(last=False)
    return program
