"""The paper's three mutations, one small function each, and ``mutate``.

* ``mutate_insert``: inserts a new node into an edge (the edge from a node or
  input to one of its readers, or the output edge): ``a -> b`` becomes
  ``a -> new -> b``, the new node applying a random op to ``a`` (and, for a
  binary op, to one more random value);
* ``mutate_op``: replaces a live node's op with a different random op;
* ``mutate_input``: replaces one input of a live node with a random other
  node or input.

Mutating a dead node would change nothing, so targets are live. New inputs
are drawn only from values that do not depend on the mutated node (for an
insert: on the edge's reader), so no mutation can close a cycle. The rules of
random layers (:mod:`search_engine.random_layers`) hold where a mutation
chooses: a node keeps an input that depends on x when it had one, ``zero`` is
offered only to ``max``, and the two inputs of a binary node differ; and, as
for random layers, the child's output must follow x through element-wise ops
(a child that breaks this is invalid and drawn again). What a mutation cannot
see locally (``-(-a)``, ``abs(square(a))``) the search's static checks refuse.

:func:`mutate` picks the three kinds in a random order and retries until the
child is valid, its canonical hash differs from the parent's and it respects
the node cap, or raises :class:`MutationError` after a bounded number of
tries. Children hold live nodes only: rewiring an input can leave part of the
parent dead, and that part is dropped. Growth comes from inserts (the graph
was once padded with dead random nodes for rewiring to revive, because the
old third mutation, replacing a node, never added one).

Replacing a node by a freshly sampled one (``mutate_node``, the third
mutation of an earlier version) is not in :data:`MUTATIONS`. It is an op
change and input changes at once, so the three reach every layer it does;
and measured on children of BN-ReLU, GN-ReLU, EvoNorm-B0 and EvoNorm-S0
under cpu-quick (benchmarks/results/mutations.txt) its children pass the
static checks least often (57%, against 81-96%), are the least often stable
(10 of 16 trained, against 13-15) and survive no more often than the
others' (5 of 16; insert 9, input 6, op 3), while shrinking the layer most.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from search_engine.graph import GraphError, LayerGraph, Node
from search_engine.ops import INPUT_NAMES, OPS
from search_engine.random_layers import (
    allowed_ops,
    ancestors,
    fresh_id,
    output_follows_x,
    sample_node,
    sample_params,
)

MUTATIONS: tuple[str, ...] = ("insert", "op", "input")

# Most single tries succeed; a bound keeps a pathological parent (e.g. one
# whose every change breaks validity) from hanging the search. The kinds are
# tried in a random order, each up to a third of the attempts: a kind drawn
# afresh at every try skewed children towards the one that fails least often,
# and a few kinds drawn at random could all be "input", which can never
# succeed for a one-node parent such as tanh(x) reading only x.
MAX_MUTATION_ATTEMPTS = 120


class MutationError(RuntimeError):
    """No valid, different child within the attempt bound."""


def allowed_inputs(graph: LayerGraph, target: str) -> tuple[str, ...]:
    """Inputs and nodes ``target`` may read without closing a cycle, in a stable order
    (computed once per graph and target)."""
    return graph.memo(("allowed_inputs", target), lambda g: _allowed_inputs(g, target))


def _allowed_inputs(graph: LayerGraph, target: str) -> tuple[str, ...]:
    readers = graph.readers()
    excluded, stack = set(), [target]  # target and everything reading it: a cycle
    while stack:
        current = stack.pop()
        if current not in excluded:
            excluded.add(current)
            stack.extend(readers.get(current, ()))
    return (*INPUT_NAMES, *(i for i in graph.topological_order() if i not in excluded))


def depends_on_x(graph: LayerGraph) -> frozenset[str]:
    """``x`` and the ids of the nodes that depend on it."""
    return graph.depends_on_x()


def choose_input(
    candidates: Sequence[str], rng: random.Random, *, op: str, avoid: Sequence[str] = (),
    need_x: set[str] | None = None,
) -> str:
    """A random input for a slot of an ``op`` node, under the random-layer rules:
    ``zero`` only for ``max``, none of ``avoid`` (the node's other inputs), and
    one of ``need_x`` when given. Raises MutationError when nothing is left."""
    pool = [c for c in candidates if c not in avoid and (c != "zero" or op == "max")
            and (need_x is None or c in need_x)]
    if not pool:
        raise MutationError(f"no input fits a slot of {op!r}")
    return rng.choice(pool)


def pick_live_node(graph: LayerGraph, rng: random.Random) -> Node:
    return rng.choice(graph.live_nodes())


def build_child(graph: LayerGraph, nodes: Sequence[Node], output: str) -> LayerGraph:
    """The child of ``graph`` made of ``nodes``: nodes the output does not read
    are dropped before it is built, so it is validated once. A child whose
    output no longer follows x through element-wise ops (an aggregation put
    on the only such path) raises GraphError before that, as cheaply as
    possible: the search would refuse it (static checks)."""
    by_id = {n.id: n for n in nodes}
    if not output_follows_x(nodes, output, by_id):
        raise GraphError("output_independent_of_x", "no element-wise path from x to the output")
    live = ancestors(by_id, output)
    return LayerGraph.from_parent(graph, [n for n in nodes if n.id in live], output)


def replace_node(graph: LayerGraph, new: Node) -> LayerGraph:
    """The graph with the node of ``new.id`` swapped for ``new``, its dead nodes
    dropped (raises GraphError)."""
    return build_child(graph, [new if n.id == new.id else n for n in graph.nodes], graph.output)


def _insert_edges(graph: LayerGraph) -> tuple[list[tuple[str | None, int]], str]:
    """The edges an insert may split (``None``: the output edge) and the new node's id."""
    edges: list[tuple[str | None, int]] = [(None, 0)]
    # the zero of max(a, 0) is the ReLU's constant, not a value to transform
    edges += [(n.id, slot) for n in graph.live_nodes() for slot in range(len(n.inputs))
              if n.inputs[slot] != "zero"]
    return edges, fresh_id({*INPUT_NAMES, *(n.id for n in graph.nodes)})


def mutate_insert(graph: LayerGraph, rng: random.Random, ops: Sequence[str]) -> LayerGraph:
    """Insert a new node into a random edge of the live graph.

    Invariant: one node more; every old node keeps its op and params; the
    chosen edge ``a -> b`` (slot of a live node, or the output; never an edge
    from ``zero``) now runs
    ``a -> new -> b``, where ``new`` reads ``a`` in a random slot; every other
    edge is unchanged. For a binary op the other slot takes a value that does
    not depend on ``b`` (no cycle) and differs from ``a``; when ``a`` does not
    depend on x (``v1`` in ``v1 * x``), that value does.
    """
    edges, new_id = graph.memo("insert_edges", _insert_edges)
    reader, slot = rng.choice(edges)
    source = graph.output if reader is None else graph.node(reader).inputs[slot]
    op = rng.choice(ops)
    inputs = [source]
    if OPS[op].arity == 2:
        candidates = (*INPUT_NAMES, *graph.topological_order()) if reader is None \
            else allowed_inputs(graph, reader)
        need_x = None if source in depends_on_x(graph) else depends_on_x(graph)
        inputs.insert(rng.randrange(2),
                      choose_input(candidates, rng, op=op, avoid=[source], need_x=need_x))
    new = Node(id=new_id, op=op, inputs=tuple(inputs), params=sample_params(op, rng))
    nodes = []
    for n in graph.nodes:
        if n.id == reader:  # the new node goes just before its reader: the list stays in order
            rewired = list(n.inputs)
            rewired[slot] = new_id
            nodes.append(new)
            n = Node(n.id, n.op, tuple(rewired), dict(n.params))
        nodes.append(n)
    if reader is None:
        nodes.append(new)
    return build_child(graph, nodes, new_id if reader is None else graph.output)


def mutate_op(graph: LayerGraph, rng: random.Random, ops: Sequence[str]) -> LayerGraph:
    """Replace a live node's op with a different random op from ``ops``.

    Invariant: same node id, new op != old op; inputs are kept where the new
    arity allows (when it shrinks, one input that depends on x if there is
    one), a missing one is drawn from values that do not depend on this node
    (no cycle) and differs from the kept one.
    """
    target = pick_live_node(graph, rng)
    op = rng.choice([o for o in ops if o != target.op])
    arity = OPS[op].arity
    kept = list(target.inputs)
    if arity < len(kept):
        with_x = [i for i in kept if i in depends_on_x(graph)]
        kept = [rng.choice(with_x or kept)]
    while len(kept) < arity:
        kept.append(choose_input(allowed_inputs(graph, target.id), rng, op=op, avoid=kept))
    new = Node(id=target.id, op=op, inputs=tuple(kept), params=sample_params(op, rng))
    return replace_node(graph, new)


def mutate_input(graph: LayerGraph, rng: random.Random, ops: Sequence[str]) -> LayerGraph:
    """Replace one input of a live node with a different node or input.

    Invariant: same node id and op, exactly one input slot changes, to a value
    that does not depend on this node (no cycle) and differs from the node's
    other input; when the slot held the node's only input that depends on x,
    the new one depends on x too. ``ops`` is unused; it keeps the three
    mutations interchangeable.
    """
    target = pick_live_node(graph, rng)
    slot = rng.randrange(len(target.inputs))
    with_x = depends_on_x(graph)
    others = [i for k, i in enumerate(target.inputs) if k != slot]
    need_x = None if any(i in with_x for i in others) else with_x
    inputs = list(target.inputs)
    inputs[slot] = choose_input(allowed_inputs(graph, target.id), rng, op=target.op,
                                avoid=[target.inputs[slot], *others], need_x=need_x)
    new = Node(id=target.id, op=target.op, inputs=tuple(inputs), params=dict(target.params))
    return replace_node(graph, new)


def mutate_node(graph: LayerGraph, rng: random.Random, ops: Sequence[str]) -> LayerGraph:
    """Replace a live node with a freshly sampled one (random op from ``ops``,
    random inputs). Not one of :data:`MUTATIONS` (see the module docstring);
    kept so that benchmarks.mutations can measure it against them.

    Invariant: same node id (so its readers and the output are untouched);
    op and inputs drawn afresh from values that do not depend on it (no cycle).
    """
    target = pick_live_node(graph, rng)
    new = sample_node(target.id, allowed_inputs(graph, target.id), ops, rng)
    return replace_node(graph, new)


MUTATION_FUNCTIONS: dict[str, Callable[[LayerGraph, random.Random, Sequence[str]], LayerGraph]] = {
    "insert": mutate_insert,
    "op": mutate_op,
    "input": mutate_input,
}


_WITH_NODE = {**MUTATION_FUNCTIONS, "node": mutate_node}


def prune_dead(graph: LayerGraph) -> LayerGraph:
    """The graph without its dead nodes (same canonical hash)."""
    if len(graph.live_nodes()) == len(graph.nodes):
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
    attempts: int = MAX_MUTATION_ATTEMPTS,
    kinds: Sequence[str] = MUTATIONS,
    accept: Callable[[LayerGraph], bool] | None = None,
) -> tuple[LayerGraph, str]:
    """A random child of ``graph`` and the mutation kind that made it.

    The child is a valid graph of live nodes only, whose canonical hash
    differs from the parent's, which has at most ``max_nodes`` nodes (see
    :func:`within_cap`), which in mode S has no ``batch_*`` op, and which
    ``accept`` (the search's checks, when given) accepts. A child ``accept``
    refuses is retried with the same kind, so each kind keeps its share of
    children however often the checks refuse it. ``kinds`` names the
    mutations to use (default :data:`MUTATIONS`; ``"node"`` is
    :func:`mutate_node`). Raises :class:`MutationError` after ``attempts``
    failed tries and ``ValueError`` for an S-mode parent with a live batch op.
    """
    functions = _WITH_NODE
    ops = allowed_ops(mode)
    live = prune_dead(graph)  # a dead batch op in an editor seed is harmless: dropped here
    if mode == "S" and live.has_batch_ops():
        raise ValueError("an S-mode search cannot mutate a graph that has a batch_* op")
    parent_hash = graph.canonical_hash()
    for kind in rng.sample(list(kinds), len(kinds)):
        for _ in range(attempts // len(kinds)):
            try:
                child = prune_dead(functions[kind](live, rng, ops))
            except (GraphError, MutationError):
                continue
            if (within_cap(child, graph, max_nodes) and child.canonical_hash() != parent_hash
                    and (accept is None or accept(child))):
                return child, kind
    raise MutationError(
        f"no valid child of {parent_hash[:12]} differing from it in {attempts} tries"
    )
