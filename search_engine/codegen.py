"""Export a layer graph as a standalone PyTorch module (source text).

Safe by construction: the code is assembled from a fixed vocabulary. Values
are named positionally (``t1``, ``t2``...) from the canonical program, never
from node ids; the only document text that reaches the output is the layer's
name, which passes through :func:`safe_text` (printable ASCII, escaped) into
the docstrings. Numbers come from the validated graph (finite
floats, bounded ints) and are written with ``repr``. The result is parsed with
``ast`` before it is returned.

The exported class has the compiled module's state_dict keys (both come from
:class:`~search_engine.canonical.Program`), and runs the same statistics
kernels: their source is copied from :mod:`search_engine.ops`. After the class
comes ``replace_norm_act``, copied from :mod:`search_engine.norm_swap` (fixed
text, the same in every export), bound to the class by one generated line.
"""

from __future__ import annotations

import ast
import inspect
import keyword
import re
import textwrap
from dataclasses import dataclass
from functools import lru_cache

from search_engine import norm_swap
from search_engine.canonical import Program, Step
from search_engine.graph import LayerGraph
from search_engine.ops import FORMAT, KERNELS

_CLASS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
# The template's name for the layer it places by default; the export binds it.
_DEFAULT_LAYER = "EXPORTED_LAYER"


@dataclass(frozen=True)
class SwapTemplate:
    """:mod:`search_engine.norm_swap` as the export copies it."""

    imports: str              # its import block, which the generated file starts with
    body: str                 # every other top-level statement, comments kept, less the binding
    names: frozenset[str]     # the module-level names it defines or imports


def _bound_names(node: ast.stmt) -> set[str]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        return {(a.asname or a.name).split(".")[0] for a in node.names}
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return {node.name}
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return {t.id for t in targets if isinstance(t, ast.Name)}


@lru_cache(maxsize=1)
def swap_template() -> SwapTemplate:
    """The template's text, cut at top-level statements (its docstring dropped)."""
    source = inspect.getsource(norm_swap)
    lines = source.splitlines()
    import_lines: list[int] = []
    body = ""
    after_def = False
    names: set[str] = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            continue  # the module docstring speaks of the engine, not of the export
        bound = _bound_names(node)
        names |= bound
        if isinstance(node, ast.Import | ast.ImportFrom):
            import_lines += [node.lineno, node.end_lineno or node.lineno]
            continue
        start = min([node.lineno, *[d.lineno for d in getattr(node, "decorator_list", [])]]) - 1
        while start > 0 and lines[start - 1].lstrip().startswith("#"):
            start -= 1  # the comment above a statement says why; it travels with it
        if bound == {_DEFAULT_LAYER}:
            continue
        is_def = isinstance(node, ast.FunctionDef | ast.ClassDef)
        # PEP 8 spacing: two blank lines around definitions, none between constants.
        gap = "" if not body else ("\n\n\n" if is_def or after_def else "\n")
        body += gap + "\n".join(lines[start:node.end_lineno])
        after_def = is_def
    imports = "\n".join(lines[min(import_lines) - 1:max(import_lines)])
    return SwapTemplate(imports, body, frozenset(names))


# Module-level names of the generated source; a class called so would shadow them.
_RESERVED = frozenset({"torch", "nn"} | {f.__name__ for f in KERNELS} | swap_template().names)
_TEXT_LIMIT = 100


def safe_text(text: str, limit: int = _TEXT_LIMIT) -> str:
    """``ascii()`` of (the start of) ``text``: one line of printable ASCII, quotes escaped.

    No line breaks of any kind (``\\n``, ``\\u2028``, ``\\x85``...) survive,
    and no ``\"`` (so no closing triple quote), so the result is inert inside a
    comment and, after :func:`_docstring_literal` escaping, inside a docstring.
    """
    cut = text[:limit] + ("..." if len(text) > limit else "")
    return ascii(cut).replace('"', "\\x22")


def _docstring_literal(lines: list[str]) -> str:
    # Backslashes from safe_text are doubled so the docstring shows them as
    # written instead of interpreting them as escapes.
    body = "\n".join(lines).replace("\\", "\\\\")
    return '"""' + body + '\n"""'


def check_class_name(class_name: str) -> None:
    """Refuse anything but a plain ASCII identifier that is not a keyword or a generated name."""
    if (not isinstance(class_name, str) or not _CLASS_NAME.fullmatch(class_name)
            or keyword.iskeyword(class_name) or keyword.issoftkeyword(class_name)
            or class_name in _RESERVED or class_name.startswith("__")):
        raise ValueError(f"class name must be a plain identifier, got {safe_text(str(class_name))}")


def _kernels_used(program: Program) -> list[str]:
    needed = {"compute_dtype"} | {k for s in program.steps for k in s.op.kernels}
    return [inspect.getsource(f) for f in KERNELS if f.__name__ in needed]


def _step_line(step: Step) -> str:
    args = [a if isinstance(a, str) else f"t{a}" for a in step.args]
    fields = {
        "eps": "self.eps",
        "momentum": "self.momentum",
        "training": "self.training",
        "running": f"self.{step.running}" if step.running else "",
        "groups": repr(int(step.params["groups"])) if "groups" in step.params else "",
    }
    return f"t{step.index} = " + step.op.template.format(*args, **fields)


def generate_source(graph: LayerGraph, class_name: str = "EvolvedNorm") -> str:
    """A Python module that defines ``class_name`` computing ``graph``, and ``replace_norm_act``.

    It imports torch and a few standard-library modules only (the template's imports).
    """
    check_class_name(class_name)
    template = swap_template()
    program = graph.program()
    formula = graph.formula()
    digest = program.canonical_hash()
    about = [
        f"{class_name}: a normalization-activation layer exported by the layer lab.",
        "",
        "Computes, before the per-channel affine step y = out * weight + bias:",
        "",
        f"    out = {formula}",
        "",
        "where sqrt and log keep the sign, and *_sqmean/*_var include eps.",
        "",
        f"Layer name: {safe_text(graph.name)}",
        f"Canonical hash (sha256): {digest}",
        f"Graph format: {FORMAT}",
    ]
    used = program.used_inputs
    init = [
        "super().__init__()",
        "self.num_features = num_features",
        "self.eps = eps",
        "self.momentum = momentum",
        *[f"self.{p} = torch.nn.Parameter(torch.empty(num_features))"
          for p, _ in program.parameters],
        *[f"self.register_buffer({b!r}, torch.empty(num_features))" for b, _ in program.buffers],
        "self.reset_parameters()",
    ]
    reset = [
        "with torch.no_grad():",
        *[f"    self.{name}.fill_({value!r})" for name, value in program.parameters + program.buffers],
    ]
    forward: list[str] = ["x = input.to(compute_dtype(input.dtype))"]
    if "zero" in used:
        forward.append("zero = x.new_zeros((1, 1, 1, 1))")
    forward += [f"{v} = self.{v}.to(x.dtype).reshape(1, -1, 1, 1)" for v in ("v0", "v1") if v in used]
    forward += [_step_line(s) for s in program.steps]
    forward += [
        "weight = self.weight.to(x.dtype).reshape(1, -1, 1, 1)",
        "bias = self.bias.to(x.dtype).reshape(1, -1, 1, 1)",
        f"y = (t{program.output} * weight + bias).to(input.dtype)",
        "return y.expand_as(input)" if not program.output_is_full else "return y",
    ]

    usage = [
        "",
        "To use it in a model, replace_norm_act (below) swaps every BatchNorm2d",
        "followed by a ReLU for this layer and returns the new model:",
        "",
        "    from layer import replace_norm_act   # this file, saved as layer.py",
        "    model, n = replace_norm_act(model)   # n: the pairs replaced",
    ]

    def block(lines: list[str], indent: int) -> str:
        return textwrap.indent("\n".join(lines), " " * indent)

    parts = [
        _docstring_literal(about + usage),
        "",
        template.imports,
        "",
        *[f"\n{src.rstrip()}\n" for src in _kernels_used(program)],
        "",
        f"class {class_name}(torch.nn.Module):",
        block([_docstring_literal(["Normalization-activation layer exported by the layer lab.",
                                   *about[1:]]), ""], 4),
        f"    def __init__(self, num_features: int, eps: float = {program.eps!r}, "
        f"momentum: float = {program.momentum!r}) -> None:",
        block(init, 8),
        "",
        "    def reset_parameters(self) -> None:",
        block(reset, 8),
        "",
        "    def forward(self, input: torch.Tensor) -> torch.Tensor:",
        block(forward, 8),
        "",
        "    def extra_repr(self) -> str:",
        "        return f'{self.num_features}, eps={self.eps}, momentum={self.momentum}'",
        "",
        "",
        "# Swapping the layer into a model: the layer lab's fixed code, the same in every export.",
        "",
        template.body,
        "",
        "",
        "# The layer replace_norm_act places unless it is given layer=.",
        f"{_DEFAULT_LAYER} = {class_name}",
        "",
    ]
    source = "\n".join(parts)
    ast.parse(source)  # a SyntaxError here is a bug in this module, never user input
    return source
