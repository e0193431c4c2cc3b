"""Readable formulas such as ``x / max(sqrt(batch_var(x)), v1*x + sqrt(instance_var(x)))``.

The formula follows the user's graph (its input order, not the canonical one)
so it reads the way the layer was drawn. A node used more than once whose text
is long is written once as ``t1 = ...`` in a ``where`` clause instead of being
repeated, which keeps the text linear in the graph's size (repeated inlining
of shared nodes grows exponentially).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from search_engine.ops import INPUT_NAMES, OPS

if TYPE_CHECKING:
    from search_engine.graph import LayerGraph

_INLINE_SHARED_UP_TO = 32  # characters; shorter shared subexpressions are repeated

# Precedence: 1 sums, 2 products, 3 unary minus, 4 atoms and calls.
_ATOM, _UNARY, _PRODUCT, _SUM = 4, 3, 2, 1


def _wrap(text: str, prec: int, at_least: int) -> str:
    return text if prec >= at_least else f"({text})"


def _is_div(graph: LayerGraph, ref: str) -> bool:
    return ref not in INPUT_NAMES and graph.node(ref).op == "div"


def render_formula(graph: LayerGraph) -> str:
    """The output of ``graph`` (before the affine step) as one expression."""
    live = graph.live_nodes()
    uses: dict[str, int] = {}
    for node in live:
        for ref in node.inputs:
            uses[ref] = uses.get(ref, 0) + 1
    rendered: dict[str, tuple[str, int]] = {
        "x": ("x", _ATOM), "zero": ("0", _ATOM), "v0": ("v0", _ATOM), "v1": ("v1", _ATOM),
    }
    bindings: list[str] = []
    negated: dict[str, str] = {}  # node id -> id of the node it negates

    for node in live:
        op = OPS[node.op]
        args = [rendered[r] for r in node.inputs]
        if node.op == "neg":
            negated[node.id] = node.inputs[0]
            text, prec = "-" + _wrap(args[0][0], args[0][1], _UNARY), _UNARY
        elif node.op == "add":
            a, b = node.inputs
            if b in negated and a not in negated:
                inner = rendered[negated[b]]
                text = f"{args[0][0]} - {_wrap(inner[0], inner[1], _PRODUCT)}"
            elif a in negated and b not in negated:
                inner = rendered[negated[a]]
                text = f"{args[1][0]} - {_wrap(inner[0], inner[1], _PRODUCT)}"
            else:
                text = f"{args[0][0]} + {args[1][0]}"
            prec = _SUM
        elif node.op == "mul":
            # Quotients and negations are parenthesised inside products:
            # "a / b*c" and "v1*-x" read ambiguously.
            parts = [t if p == _ATOM or (p == _PRODUCT and not _is_div(graph, r)) else f"({t})"
                     for (t, p), r in zip(args, node.inputs, strict=True)]
            text, prec = "*".join(parts), _PRODUCT
        elif node.op == "div":
            text = f"{_wrap(*args[0], _PRODUCT)} / {_wrap(*args[1], _UNARY)}"
            prec = _PRODUCT
        else:
            inner = ", ".join(t for t, _ in args)
            extra = "".join(f", {k}={v}" for k, v in sorted(node.params.items())
                            if op.param(k) is not None and v != op.param(k).default)
            text, prec = f"{node.op}({inner}{extra})", _ATOM
        if uses.get(node.id, 0) > 1 and len(text) > _INLINE_SHARED_UP_TO:
            name = f"t{len(bindings) + 1}"
            bindings.append(f"{name} = {text}")
            text, prec = name, _ATOM
        rendered[node.id] = (text, prec)

    out = rendered[graph.output][0]
    return out if not bindings else f"{out} where {'; '.join(bindings)}"
