"""Static checks: refuse a proposed layer from its structure alone, before any tensor exists.

The search runs these on every layer it generates (random draws and mutation
children) before the numeric probe and before spending a budget slot. They
look at the canonical program (:meth:`LayerGraph.program`: live steps only,
common subexpressions merged) and refuse a layer when one of its steps is
useless whatever the training does:

``not_elementwise_from_x``  no path of element-wise ops leads from ``x`` to the
                            output: the output is a function of statistics
                            only, constant over the reduced axes
``x_independent``           a step whose value does not depend on ``x``
                            (``group_var(v1)``, ``v0 + v1``); ``v0``/``v1``
                            read directly by a step that depends on ``x`` are
                            the format's per-channel parameters and are fine
``zero_operand``            ``zero`` read by anything but ``max`` (``max(a, 0)``
                            is a ReLU; ``a + 0`` is ``a``, ``a * 0`` and
                            ``0 / a`` are 0, ``a / 0`` is infinite)
``constant``                a step that is constant whatever ``x`` is:
                            ``a / a``, ``a + (-a)``, ``a / (-a)``, a variance
                            over axes its input does not vary along
``redundant``               a step that repeats its input or a shorter
                            expression: ``max(a, a)``, ``-(-a)``, ``abs`` of a
                            value that is never negative, ``abs(-a)``,
                            ``square(-a)``, ``a * a`` (that is ``square(a)``),
                            ``log(exp(a))``, ``sqrt(square(a))`` (``abs(a)``),
                            a mean or second moment over axes its input does
                            not vary along

Layers written by hand (search seeds) are not checked: the user chose them.
Pure Python; no torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from search_engine.canonical import Program, Ref

if TYPE_CHECKING:
    from search_engine.graph import LayerGraph

REASONS: tuple[str, ...] = (
    "not_elementwise_from_x", "x_independent", "zero_operand", "constant", "redundant",
)

# Axes each aggregation family averages over, as in canonical.py's dims ("B",
# "C", "S" for H and W). Group ops average over part of C, so an input counts
# as constant along them only when it varies along neither C nor S.
_REDUCED = {
    "batch": frozenset({"B", "S"}),
    "instance": frozenset({"S"}),
    "group": frozenset({"C", "S"}),
    "layer": frozenset({"C", "S"}),
}
# Axes each input varies along (GRAPH_FORMAT.md's shapes).
_INPUT_DIMS = {"x": frozenset({"B", "C", "S"}), "zero": frozenset(), "v0": frozenset({"C"}),
               "v1": frozenset({"C"})}
# Ops whose value is never negative (abs of them is the value itself).
_NON_NEGATIVE = frozenset({"abs", "square", "exp", "sigmoid"})
# f(-a) == f(a): applying them to a negation repeats f(a).
_EVEN = frozenset({"abs", "square"})
# (outer, inner) pairs where outer(inner(a)) is a or a shorter expression of a.
_COLLAPSES = frozenset({("neg", "neg"), ("log", "exp"), ("sqrt", "square")})


def static_refusal(graph: LayerGraph) -> str | None:
    """The first reason of :data:`REASONS` that refuses ``graph``, or None to accept it."""
    program = graph.program()
    verdict = program.__dict__.get("_static", "")
    if verdict == "":  # programs are shared between equal layers: judge each once
        verdict = program_refusal(program)
        object.__setattr__(program, "_static", verdict)
    return verdict


def program_refusal(program: Program) -> str | None:
    """:func:`static_refusal` of a canonical program."""
    if not follows_x_elementwise(program):
        return "not_elementwise_from_x"
    depends = x_dependence(program)
    for step in program.steps:
        reason = step_refusal(program, step.index, depends)
        if reason is not None:
            return reason
    return None


def x_dependence(program: Program) -> dict[Ref, bool]:
    """Whether each input and step depends on ``x``."""
    depends: dict[Ref, bool] = {"x": True, "zero": False, "v0": False, "v1": False}
    for step in program.steps:
        depends[step.index] = any(depends[a] for a in step.args)
    return depends


def follows_x_elementwise(program: Program) -> bool:
    """Whether a path of element-wise steps leads from ``x`` to the output."""
    reaches: dict[Ref, bool] = {"x": True, "zero": False, "v0": False, "v1": False}
    for step in program.steps:
        reaches[step.index] = (step.op.category == "elementwise"
                               and any(reaches[a] for a in step.args))
    return reaches[program.output]


def step_refusal(program: Program, index: int, depends: dict[Ref, bool]) -> str | None:
    """Why step ``t{index}`` is useless (see the module docstring), or None."""
    step = program.steps[index - 1]
    op, args = step.op, step.args
    if not depends[index]:
        return "x_independent"
    if "zero" in args and op.name != "max":
        return "zero_operand"
    if op.category == "aggregation":
        if not (_dims(program, args[0]) & _REDUCED[op.axes or ""]):
            return "constant" if op.stat == "var" else "redundant"
        return None
    inner = [_op_of(program, a) for a in args]
    if op.arity == 2:
        a, b = args
        if a == b:
            if op.name == "div":
                return "constant"
            if op.name in ("max", "mul"):
                return "redundant"
        if op.name in ("add", "div") and (_negates(program, a, b) or _negates(program, b, a)):
            return "constant"
        return None
    if (op.name, inner[0]) in _COLLAPSES:
        return "redundant"
    if op.name == "abs" and _non_negative(program, args[0]):
        return "redundant"
    if op.name in _EVEN and inner[0] == "neg":
        return "redundant"
    return None


def _op_of(program: Program, ref: Ref) -> str | None:
    return None if isinstance(ref, str) else program.steps[ref - 1].op.name


def _dims(program: Program, ref: Ref) -> frozenset[str]:
    return _INPUT_DIMS[ref] if isinstance(ref, str) else program.steps[ref - 1].dims


def _negates(program: Program, a: Ref, b: Ref) -> bool:
    """Whether ``b`` is the step ``-a``."""
    return not isinstance(b, str) and _op_of(program, b) == "neg" and program.steps[b - 1].args[0] == a


def _non_negative(program: Program, ref: Ref) -> bool:
    if isinstance(ref, str):
        return ref == "zero"
    step = program.steps[ref - 1]
    return step.op.name in _NON_NEGATIVE or step.op.stat in ("sqmean", "var")
