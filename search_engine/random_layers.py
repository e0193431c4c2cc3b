"""Random layers: graphs sampled node by node from the op registry.

A random layer is a sequence of ``num_nodes`` intermediate nodes; each picks an
op from :data:`search_engine.ops.OPS` (``batch_*`` ops only in mode B) and its
inputs from the four inputs and the nodes before it. The last node is the
output; samples without a path of element-wise ops from ``x`` to the output
(see :func:`output_follows_x`) are drawn again.

Inputs are uniform except where a node that nobody reads yet must be read by
one of the slots left (see :func:`sample_live_nodes`): with purely uniform
inputs almost every sampled node is dead (of 4-node samples, 0.3% are fully
live; a typical one is ``0 / x``), so the node count would mean little.

Every function takes a ``random.Random``; nothing touches global random state.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence

from search_engine.graph import LayerGraph, Node
from search_engine.ops import INPUT_NAMES, OPS, op_names

MODES = ("B", "S")

# The group count a sampled group_* op uses. The paper does not search the
# group count; 32 is GroupNorm's and EvoNorm-S0's value. Add values here to
# let the search pick among them.
GROUP_CHOICES: tuple[int, ...] = (32,)

# About 1 sample in 15 has an element-wise path from x to the output, so
# this bound is only reached when something is broken.
MAX_SAMPLE_ATTEMPTS = 10_000


class SamplingError(RuntimeError):
    """No valid random layer within the attempt bound (a bug or an absurd setting)."""


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'B' or 'S', got {mode!r}")
    return mode


def allowed_ops(mode: str) -> list[str]:
    """Ops a search in ``mode`` may use: everything in B, no ``batch_*`` op in S."""
    return op_names() if check_mode(mode) == "B" else op_names(batch=False)


def sample_params(op: str, rng: random.Random) -> dict[str, int]:
    """Parameters for a freshly sampled ``op`` (only group ops take any)."""
    if OPS[op].param("groups") is not None:
        return {"groups": rng.choice(GROUP_CHOICES)}
    return {}


def sample_node(
    node_id: str, candidates: Sequence[str], ops: Sequence[str], rng: random.Random
) -> Node:
    """A node with a random op from ``ops`` and random inputs from ``candidates``."""
    op = rng.choice(ops)
    inputs = tuple(rng.choice(candidates) for _ in range(OPS[op].arity))
    return Node(id=node_id, op=op, inputs=inputs, params=sample_params(op, rng))


def ancestors(nodes: Mapping[str, Node], start: str) -> set[str]:
    """``start`` and everything it reads from, transitively (inputs included)."""
    seen: set[str] = set()
    stack = [start]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in nodes:
            stack.extend(nodes[current].inputs)
    return seen


def descendants(nodes: Iterable[Node], target: str) -> set[str]:
    """``target`` and every node that reads from it, transitively.

    A node may take any other node as an input except these: that is exactly
    the set that would close a cycle.
    """
    readers: dict[str, list[str]] = {}
    for n in nodes:
        for i in n.inputs:
            readers.setdefault(i, []).append(n.id)
    seen: set[str] = set()
    stack = [target]
    while stack:
        current = stack.pop()
        if current not in seen:
            seen.add(current)
            stack.extend(readers.get(current, ()))
    return seen


def output_follows_x(nodes: Sequence[Node], output: str) -> bool:
    """Whether a path of element-wise ops leads from x to the output.

    Stronger than "depends on x", which LayerGraph checks: an output reached
    from x only through aggregations is a function of statistics, constant
    over the reduced axes, so the layer erases the spatial pattern. Such
    layers fail the numeric probe or train to chance, and cost a budget slot
    each; of random 4-node layers meeting this rule 44% pass the probe,
    against 16% of those that merely depend on x. Every EvoNorm layer meets it.
    """
    by_id = {n.id: n for n in nodes}
    stack, seen = [output], set()
    while stack:
        current = stack.pop()
        if current == "x":
            return True
        node = by_id.get(current)
        if node is None or current in seen or OPS[node.op].category != "elementwise":
            continue
        seen.add(current)
        stack.extend(node.inputs)
    return False


def fresh_id(taken: Collection[str]) -> str:
    """The first ``n<k>`` id not in ``taken`` (positional, like generated code)."""
    k = len(taken) + 1
    while f"n{k}" in taken:
        k += 1
    return f"n{k}"


def sample_live_nodes(num_nodes: int, ops: Sequence[str], rng: random.Random) -> list[Node]:
    """``num_nodes`` nodes in order, each read by a later one (the last is the output).

    Ops are drawn first so the number of input slots is known. Each slot takes
    a uniform choice of the inputs and earlier nodes, unless the unread nodes
    would otherwise outnumber the slots that can still read them; then it
    takes an unread node. Every later node has at least one slot, so this
    count is the only constraint.
    """
    chosen_ops = [rng.choice(ops) for _ in range(num_nodes)]
    slots_left = sum(OPS[op].arity for op in chosen_ops)
    nodes: list[Node] = []
    candidates = list(INPUT_NAMES)
    unread: list[str] = []
    for k, op in enumerate(chosen_ops):
        # nodes k..num_nodes-2 will each need a reader among the later slots
        future_needs = num_nodes - 1 - k
        inputs = []
        for _ in range(OPS[op].arity):
            slack = slots_left - future_needs - len(unread)
            pick = rng.choice(unread) if unread and slack <= 0 else rng.choice(candidates)
            if pick in unread:
                unread.remove(pick)
            inputs.append(pick)
            slots_left -= 1
        node = Node(id=f"n{k + 1}", op=op, inputs=tuple(inputs), params=sample_params(op, rng))
        nodes.append(node)
        candidates.append(node.id)
        unread.append(node.id)
    return nodes


def random_layer(
    rng: random.Random, *, mode: str, num_nodes: int, name: str = "random"
) -> LayerGraph:
    """A random valid layer of exactly ``num_nodes`` nodes, all live, whose output
    follows x through element-wise ops (:func:`output_follows_x`).

    In mode S no node is a ``batch_*`` op.
    """
    if num_nodes < 1:
        raise ValueError(f"num_nodes must be at least 1, got {num_nodes}")
    ops = allowed_ops(mode)
    for _ in range(MAX_SAMPLE_ATTEMPTS):
        nodes = sample_live_nodes(num_nodes, ops, rng)
        if output_follows_x(nodes, nodes[-1].id):
            return LayerGraph.from_nodes(nodes, nodes[-1].id, name=name)
    raise SamplingError(
        f"no random layer of {num_nodes} nodes followed x in {MAX_SAMPLE_ATTEMPTS} tries"
    )
