"""The paper's three mutations, one small function each, and ``mutate``.

Each mutation picks a live intermediate node (mutating a dead node would not
change what the layer computes) and then

* ``mutate_op``: replaces its op with a different random op;
* ``mutate_input``: replaces one of its inputs with a random other node or input;
* ``mutate_node``: replaces it with a freshly sampled node.

New inputs are drawn only from nodes that do not depend on the mutated node,
so no mutation can close a cycle. :func:`mutate` picks one of the three at
random and retries until the child is valid, its output follows ``x``
through element-wise ops (so it depends on x; see
:func:`search_engine.random_layers.output_follows_x`), its canonical hash
differs from the parent's and it respects the node cap, or raises
:class:`MutationError` after a bounded number of tries.

Mutations never add a node by themselves, and rewiring can leave part of the
parent dead, so without help graphs would only shrink. ``mutate`` therefore
first tops the parent up with dead random nodes to ``max_nodes`` (as in
Cartesian GP, where the genotype has a fixed length and a rewired input can
bring a dead node to life), and prunes whatever is still dead from the child.
Children hold live nodes only. (A neutral random walk with this rule settles
around 5 live nodes for a cap of 16; with a reserve of only 2 dead nodes it
settled around 2, too small for layers such as EvoNorm-B0.)
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from search_engine.graph import GraphError, LayerGraph, Node
from search_engine.ops import INPUT_NAMES, OPS
from search_engine.random_layers import (
    allowed_ops,
    descendants,
    fresh_id,
    output_follows_x,
    sample_node,
    sample_params,
)

MUTATIONS: tuple[str, ...] = ("op", "input", "node")

# Most single tries succeed; a bound keeps a pathological parent (e.g. one
# whose every change breaks the path from x) from hanging the search. The
# kinds are tried in a random order, each up to a third of the attempts: a
# kind drawn afresh at every try skewed children towards "op" (56%), which
# fails least often, and a few kinds drawn at random could all be "input",
# which can never succeed for a one-node parent such as tanh(x).
MAX_MUTATION_ATTEMPTS = 120


class MutationError(RuntimeError):
    """No valid, different child within the attempt bound."""


def allowed_inputs(graph: LayerGraph, target: str) -> list[str]:
    """Inputs and nodes ``target`` may read without closing a cycle, in a stable order."""
    excluded = descendants(graph.nodes, target)
    return list(INPUT_NAMES) + [i for i in graph.topological_order() if i not in excluded]


def pick_live_node(graph: LayerGraph, rng: random.Random) -> Node:
    return rng.choice(graph.live_nodes())


def replace_node(graph: LayerGraph, new: Node) -> LayerGraph:
    """The graph with the node of ``new.id`` swapped for ``new`` (raises GraphError)."""
    nodes = [new if n.id == new.id else n for n in graph.nodes]
    if not output_follows_x(nodes, graph.output):
        # the search's own rule, stronger than validation's "depends on x"
        raise GraphError("output_independent_of_x", "no element-wise path from x to the output")
    return LayerGraph.from_nodes(nodes, graph.output, eps=graph.eps, momentum=graph.momentum)


def mutate_op(graph: LayerGraph, rng: random.Random, ops: Sequence[str]) -> LayerGraph:
    """Replace a live node's op with a different random op from ``ops``.

    Invariant: same node id, new op != old op; inputs are kept where the new
    arity allows (a random subset when it shrinks), missing ones are drawn
    from nodes that do not depend on this node, so the graph stays acyclic.
    """
    target = pick_live_node(graph, rng)
    op = rng.choice([o for o in ops if o != target.op])
    arity = OPS[op].arity
    kept = list(target.inputs)
    if arity < len(kept):
        kept = rng.sample(kept, arity)
    candidates = allowed_inputs(graph, target.id)
    while len(kept) < arity:
        kept.append(rng.choice(candidates))
    new = Node(id=target.id, op=op, inputs=tuple(kept), params=sample_params(op, rng))
    return replace_node(graph, new)


def mutate_input(graph: LayerGraph, rng: random.Random, ops: Sequence[str]) -> LayerGraph:
    """Replace one input of a live node with a different node or input.

    Invariant: same node id and op, exactly one input slot changes, to a node
    that does not depend on this node (no cycle). ``ops`` is unused; it keeps
    the three mutations interchangeable.
    """
    target = pick_live_node(graph, rng)
    slot = rng.randrange(len(target.inputs))
    choices = [c for c in allowed_inputs(graph, target.id) if c != target.inputs[slot]]
    inputs = list(target.inputs)
    inputs[slot] = rng.choice(choices)
    new = Node(id=target.id, op=target.op, inputs=tuple(inputs), params=dict(target.params))
    return replace_node(graph, new)


def mutate_node(graph: LayerGraph, rng: random.Random, ops: Sequence[str]) -> LayerGraph:
    """Replace a live node with a freshly sampled one (random op from ``ops``, random inputs).

    Invariant: same node id (so its readers and the output are untouched);
    op and inputs drawn afresh from nodes that do not depend on it (no cycle).
    """
    target = pick_live_node(graph, rng)
    new = sample_node(target.id, allowed_inputs(graph, target.id), ops, rng)
    return replace_node(graph, new)


MUTATION_FUNCTIONS: dict[str, Callable[[LayerGraph, random.Random, Sequence[str]], LayerGraph]] = {
    "op": mutate_op,
    "input": mutate_input,
    "node": mutate_node,
}


def pad_with_dead_nodes(
    graph: LayerGraph, rng: random.Random, ops: Sequence[str], target_nodes: int
) -> LayerGraph:
    """Append dead random nodes until the graph has ``target_nodes`` nodes.

    The output and its hash are unchanged; later input mutations can revive
    these nodes.
    """
    nodes = list(graph.nodes)
    taken = set(INPUT_NAMES) | {n.id for n in nodes}
    candidates = list(INPUT_NAMES) + list(graph.topological_order())
    while len(nodes) < target_nodes:
        node = sample_node(fresh_id(taken), candidates, ops, rng)
        nodes.append(node)
        taken.add(node.id)
        candidates.append(node.id)
    if len(nodes) == len(graph.nodes):
        return graph
    return LayerGraph.from_nodes(nodes, graph.output, eps=graph.eps, momentum=graph.momentum)


def prune_dead(graph: LayerGraph) -> LayerGraph:
    """The graph without its dead nodes (same canonical hash)."""
    if not graph.dead_nodes():
        return graph
    return LayerGraph.from_nodes(
        graph.live_nodes(), graph.output, eps=graph.eps, momentum=graph.momentum, name=graph.name
    )


def within_cap(child: LayerGraph, parent: LayerGraph, max_nodes: int) -> bool:
    """At most ``max_nodes`` nodes, or, for a parent already beyond the cap (a
    large seed), no more than the parent: the cap stops growth, it does not
    forbid a seed."""
    return len(child.nodes) <= max(max_nodes, len(parent.live_nodes()))


def mutate(
    graph: LayerGraph,
    rng: random.Random,
    mode: str,
    max_nodes: int,
    *,
    reserve: int | None = None,
    attempts: int = MAX_MUTATION_ATTEMPTS,
) -> tuple[LayerGraph, str]:
    """A random child of ``graph`` and the mutation kind that made it.

    The child is a valid graph of live nodes only, whose output follows x
    through element-wise ops, whose canonical hash differs from the parent's, which has at most
    ``max_nodes`` nodes (see :func:`within_cap`) and which, in mode S, has no
    ``batch_*`` op.
    ``reserve`` bounds the dead random nodes offered for revival (default:
    up to ``max_nodes``). Raises :class:`MutationError` after ``attempts``
    failed tries and ``ValueError`` for an S-mode parent with a live batch op.
    """
    ops = allowed_ops(mode)
    live = prune_dead(graph)  # a dead batch op in an editor seed is harmless: dropped here
    if mode == "S" and live.has_batch_ops():
        raise ValueError("an S-mode search cannot mutate a graph that has a batch_* op")
    parent_hash = graph.canonical_hash()
    target = max_nodes if reserve is None else min(len(live.nodes) + reserve, max_nodes)
    base = pad_with_dead_nodes(live, rng, ops, target)
    for kind in rng.sample(MUTATIONS, len(MUTATIONS)):
        for _ in range(attempts // len(MUTATIONS)):
            try:
                child = prune_dead(MUTATION_FUNCTIONS[kind](base, rng, ops))
            except GraphError:
                continue
            if within_cap(child, graph, max_nodes) and child.canonical_hash() != parent_hash:
                return child, kind
    raise MutationError(
        f"no valid child of {parent_hash[:12]} differing from it in {attempts} tries"
    )
