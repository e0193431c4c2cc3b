"""Random layers: graphs sampled node by node from the op registry.

A random layer is a sequence of ``num_nodes`` intermediate nodes; each picks an
op from :data:`search_engine.ops.OPS` (``batch_*`` ops only in mode B) and its
inputs from the four inputs and the nodes before it. The last node is the
output; samples without a path of element-wise ops from ``x`` to the output
(see :func:`output_follows_x`) are drawn again.

Inputs are uniform, within three rules that keep useless structure out (see
:func:`sample_live_nodes`):

* every node depends on x: one input slot of each node, the *carrier*, takes
  ``x`` or an earlier node (which depends on x in turn); the other slots may
  also take the per-channel parameters ``v0``/``v1``. So an aggregation is
  always a statistic of x, and ``v0``/``v1`` appear only combined with
  something that depends on x (``v1 * x``, never ``group_var(v1)``);
* every node is read by a later one (with purely uniform inputs almost every
  sampled node is dead: of 4-node samples, 0.3% were fully live);
* ``zero`` is offered only to ``max`` (``max(a, 0)`` is a ReLU; elsewhere it
  makes a constant, a no-op or a division by zero), and the two inputs of a
  binary node differ (``a * a`` is ``square(a)``, ``a / a`` is 1).

Before these rules (benchmarks/results/yields_before.txt), 67% of random
4-node layers held a step that ignores x and 17% computed any statistic of x.
Patterns the rules let through (``-(-a)``, ``abs(square(a))``, a variance of a
value constant over its axes, ...) are refused by the search's static checks
(:mod:`search_engine.static_checks`); no layer template is used.

Every function takes a ``random.Random``; nothing touches global random state.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Mapping, Sequence

from search_engine.graph import LayerGraph, Node
from search_engine.ops import OPS, op_names

MODES = ("B", "S")

# The group count a sampled group_* op uses. The paper does not search the
# group count; 32 is GroupNorm's and EvoNorm-S0's value. Add values here to
# let the search pick among them.
GROUP_CHOICES: tuple[int, ...] = (32,)

# About 1 sample in 4 whose last op is element-wise has an element-wise path
# from x to the output, so this bound is only reached when something is broken.
MAX_SAMPLE_ATTEMPTS = 10_000


class SamplingError(RuntimeError):
    """No valid random layer within the attempt bound (a bug or an absurd setting)."""


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be 'B' or 'S', got {mode!r}")
    return mode


_MODE_OPS = {"B": tuple(op_names()), "S": tuple(op_names(batch=False))}


def allowed_ops(mode: str) -> list[str]:
    """Ops a search in ``mode`` may use: everything in B, no ``batch_*`` op in S."""
    return list(_MODE_OPS[check_mode(mode)])


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


def output_follows_x(nodes: Sequence[Node], output: str,
                     by_id: Mapping[str, Node] | None = None) -> bool:
    """Whether a path of element-wise ops leads from x to the output.

    Stronger than "depends on x", which LayerGraph checks: an output reached
    from x only through aggregations is a function of statistics, constant
    over the reduced axes, so the layer erases the spatial pattern. Such
    layers fail the numeric probe or train to chance, and cost a budget slot
    each; of random 4-node layers meeting this rule 44% pass the probe,
    against 16% of those that merely depend on x. Every EvoNorm layer meets it.
    ``by_id``: ``{n.id: n for n in nodes}`` when the caller has it already.
    """
    if by_id is None:
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
    """``num_nodes`` nodes in order, each depending on x and read by a later one
    (the last is the output), under the rules of the module docstring; ops
    drawn uniformly from ``ops``, then wired by :func:`wire_nodes`."""
    return wire_nodes([rng.choice(ops) for _ in range(num_nodes)], rng)


def wire_nodes(chosen_ops: Sequence[str], rng: random.Random) -> list[Node]:
    """Nodes applying ``chosen_ops`` in order, with inputs drawn by the rules of
    the module docstring.

    Each node's carrier slot (a random one) is filled first, with ``x`` or an
    earlier node; the other slots with ``x``, ``v0``, ``v1``, an earlier node
    (and ``zero`` for ``max``), never the value another slot of the node
    already took. A slot takes an unread node instead when the unread nodes
    would otherwise outnumber the slots that can still read them (every later
    node has at least one slot, so this count is the only constraint); unread
    nodes depend on x, so they may fill a carrier slot too.
    """
    num_nodes = len(chosen_ops)
    slots_left = sum(OPS[op].arity for op in chosen_ops)
    nodes: list[Node] = []
    carriers = ["x"]  # x and the earlier nodes
    others = ["x", "v0", "v1"]  # what a non-carrier slot may read
    unread: list[str] = []
    for k, op in enumerate(chosen_ops):
        # nodes k..num_nodes-2 will each need a reader among the later slots
        future_needs = num_nodes - 1 - k
        arity = OPS[op].arity
        carrier = rng.randrange(arity) if arity > 1 else 0
        picks = [""] * arity
        for slot in (carrier, 1 - carrier) if arity == 2 else (0,):
            if unread and slots_left - future_needs - len(unread) <= 0:
                pick = rng.choice(unread)
            elif slot == carrier:
                pick = rng.choice(carriers)
            else:
                pool = others + ["zero"] if op == "max" else others
                pick = picks[carrier]
                while pick == picks[carrier]:  # the other slot's value: draw again
                    pick = rng.choice(pool)
            if pick in unread:
                unread.remove(pick)
            picks[slot] = pick
            slots_left -= 1
        node = Node(f"n{k + 1}", op, tuple(picks), sample_params(op, rng))
        nodes.append(node)
        carriers.append(node.id)
        others.append(node.id)
        unread.append(node.id)
    return nodes


def random_layer(
    rng: random.Random, *, mode: str, num_nodes: int, name: str = "random"
) -> LayerGraph:
    """A random valid layer of exactly ``num_nodes`` nodes, all live and all
    depending on x, whose output follows x through element-wise ops
    (:func:`output_follows_x`); see the module docstring for the input rules.

    Samples are drawn until one qualifies; one whose last op is an
    aggregation cannot, so it is drawn again before its inputs are.
    In mode S no node is a ``batch_*`` op.
    """
    if num_nodes < 1:
        raise ValueError(f"num_nodes must be at least 1, got {num_nodes}")
    ops = allowed_ops(mode)
    for _ in range(MAX_SAMPLE_ATTEMPTS):
        chosen = [rng.choice(ops) for _ in range(num_nodes)]
        if OPS[chosen[-1]].category != "elementwise":
            continue
        nodes = wire_nodes(chosen, rng)
        if output_follows_x(nodes, nodes[-1].id):
            return LayerGraph.from_nodes(nodes, nodes[-1].id, name=name)
    raise SamplingError(
        f"no random layer of {num_nodes} nodes followed x in {MAX_SAMPLE_ATTEMPTS} tries"
    )
