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
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from search_engine.ops import FORMAT, OPS, Op

if TYPE_CHECKING:
    from search_engine.graph import LayerGraph

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


@dataclass(frozen=True)
class Step:
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
        return json.dumps(self.canonical_dict(), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=True, allow_nan=False)

    def canonical_hash(self) -> str:
        return hashlib.sha256(self.canonical_json().encode("ascii")).hexdigest()


def _structural_keys(graph: LayerGraph) -> dict[str, str]:
    keys: dict[str, str] = {name: f"input:{name}" for name in _INPUT_DIMS}
    for node in graph.live_nodes():  # topological, so inputs are keyed first
        child = [keys[r] for r in node.inputs]
        if OPS[node.op].commutative:
            child.sort()
        text = json.dumps([node.op, sorted(node.params.items()), child], separators=(",", ":"))
        keys[node.id] = hashlib.sha256(text.encode("ascii")).hexdigest()
    return keys


def build_program(graph: LayerGraph) -> Program:
    """Linearise the live part of ``graph`` in canonical order (see module docstring)."""
    keys = _structural_keys(graph)
    by_key = {keys[n.id]: n for n in graph.live_nodes()}

    def ordered_inputs(key: str) -> list[str]:
        node = by_key[key]
        child = [keys[r] for r in node.inputs]
        return sorted(child) if OPS[node.op].commutative else child

    index: dict[str, int] = {}
    steps: list[Step] = []
    dims: dict[str, frozenset[str]] = {f"input:{k}": v for k, v in _INPUT_DIMS.items()}
    # Iterative post-order DFS: a 256-node chain must not depend on the recursion limit.
    stack: list[tuple[str, bool]] = [(keys[graph.output], False)]
    while stack:
        key, expanded = stack.pop()
        if key in index or key not in by_key:
            continue
        if not expanded:
            stack.append((key, True))
            stack.extend((c, False) for c in reversed(ordered_inputs(key)))
            continue
        node = by_key[key]
        op = OPS[node.op]
        child = ordered_inputs(key)
        args: tuple[Ref, ...] = tuple(c[len("input:"):] if c.startswith("input:") else index[c]
                                      for c in child)
        if op.category == "elementwise":
            node_dims = frozenset().union(*(dims[c] for c in child))
        else:
            node_dims = dims[child[0]] & _KEPT_DIMS[op.axes or ""]
        dims[key] = node_dims
        index[key] = len(steps) + 1
        steps.append(Step(len(steps) + 1, op, args, dict(node.params), node_dims))
    return Program(tuple(steps), index[keys[graph.output]], graph.eps, graph.momentum)
