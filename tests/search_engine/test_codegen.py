"""generate_source: equal to compile_graph, self-contained, and inert for hostile text."""

from __future__ import annotations

import ast
import copy
import inspect
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, given, settings

from search_engine.codegen import generate_source, safe_text, swap_template
from search_engine.compiler import compile_graph
from search_engine.graph import GraphError, LayerGraph
from tests.search_engine.conftest import load_generated
from tests.search_engine.strategies import layer_graphs

HOSTILE = [
    '"""', "'''", '"', "\\", "\\N{", "\\u2028", "{0}{eps}", "%s",
    "\n__import__('os').system('echo pwned')\n#",
    "\"\"\"\nimport os; os.system('echo pwned')\n\"\"\"",
    "\u2028import os\u2029", "\x85\x0b\x0c\x1c\x1d\x1e\r", "\x00", "\u202e", "\ufeff",
    "é" * 100, "a" * 10_000, "\u2028" * 10_000,
]


def _randomised_state(module: torch.nn.Module, seed: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {k: torch.rand(v.shape, generator=gen) + 0.5 for k, v in module.state_dict().items()}


def _assert_same(a: torch.Tensor, b: torch.Tensor) -> None:
    torch.testing.assert_close(a, b, rtol=0, atol=0, equal_nan=True)


def _compare(g: LayerGraph, module: ModuleType, *, c: int = 6, seed: int = 0,
             channels_last: bool = False) -> None:
    compiled = compile_graph(g, c)
    exported = module.EvolvedNorm(c)
    assert list(exported.state_dict()) == list(compiled.state_dict())
    state = _randomised_state(compiled, seed)
    compiled.load_state_dict(state)
    exported.load_state_dict(compiled.state_dict(), strict=True)
    gen = torch.Generator().manual_seed(seed)
    for mode in (True, True, False):
        compiled.train(mode)
        exported.train(mode)
        x = torch.randn(3, c, 4, 4, generator=gen)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        xa, xb = x.clone().requires_grad_(True), x.clone().requires_grad_(True)
        ya, yb = compiled(xa), exported(xb)
        _assert_same(ya, yb)
        proj = torch.randn(ya.shape, generator=gen)
        (ya * proj).sum().backward()
        (yb * proj).sum().backward()
        _assert_same(xa.grad, xb.grad)
        for pa, pb in zip(compiled.parameters(), exported.parameters(), strict=True):
            _assert_same(pa.grad, pb.grad)
        for ba, bb in zip(compiled.buffers(), exported.buffers(), strict=True):
            _assert_same(ba, bb)
        compiled.zero_grad()
        exported.zero_grad()


def test_reference_layers_export_equal_to_compiled(references: dict[str, LayerGraph]) -> None:
    for g in references.values():
        source = generate_source(g)
        _compare(g, load_generated(source), c=64)
        _compare(g, load_generated(source), c=24, channels_last=True)


GENERATED = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(layer_graphs())
def test_random_graphs_export_equal_to_compiled(g: LayerGraph) -> None:
    _compare(g, load_generated(generate_source(g)))


def _class(tree: ast.Module, name: str) -> ast.ClassDef:
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    assert len(classes) == 1
    return classes[0]


def test_source_shape(references: dict[str, LayerGraph]) -> None:
    g = references["evonorm_b0"]
    source = generate_source(g, class_name="B0Norm")
    tree = ast.parse(source)
    imports = [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]
    # Imports only at the top, of torch and the standard library only.
    assert imports == [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    modules = {a.name for n in imports if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module for n in imports if isinstance(n, ast.ImportFrom)}
    assert "torch" in modules
    assert all(m == "torch" or m.startswith("torch.") or m.split(".")[0] in sys.stdlib_module_names
               for m in modules), modules
    cls = _class(tree, "B0Norm")
    assert all(isinstance(n, ast.Expr | ast.Import | ast.ImportFrom | ast.FunctionDef | ast.ClassDef
                          | ast.Assign) for n in tree.body)
    # The swap code is the template's text; the one generated line binds it to the class.
    assert swap_template().body in source
    assert ast.unparse(tree.body[-1]) == "EXPORTED_LAYER = B0Norm"
    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    assert set(methods) == {"__init__", "reset_parameters", "forward", "extra_repr"}
    init_args = [a.arg for a in methods["__init__"].args.args]
    assert init_args == ["self", "num_features", "eps", "momentum"]
    # Straight-line forward: assignments and one return, no loops or branches.
    assert all(isinstance(s, ast.Assign | ast.Return) for s in methods["forward"].body)
    for doc in (ast.get_docstring(tree), ast.get_docstring(cls)):
        assert doc is not None
        assert g.formula() in doc and g.canonical_hash() in doc and "layer-graph/1" in doc
    module = load_generated(source)
    layer = module.B0Norm(8, eps=1e-3, momentum=0.5)
    assert (layer.eps, layer.momentum) == (1e-3, 0.5)
    assert inspect.signature(module.B0Norm).parameters["eps"].default == g.eps
    assert module.B0Norm.__doc__ is not None and "Normalization-activation" in module.B0Norm.__doc__


def test_exported_layer_resets_and_runs_on_1x1(references: dict[str, LayerGraph]) -> None:
    module = load_generated(generate_source(references["bn_relu"]))
    layer = module.EvolvedNorm(4)
    with torch.no_grad():
        layer.v1.fill_(5.0)
        layer.running_4.fill_(7.0)
    layer.reset_parameters()
    assert torch.equal(layer.v1, torch.ones(4)) and torch.equal(layer.running_4, torch.ones(4))
    y = layer(torch.randn(1, 4, 1, 1))
    assert torch.isfinite(y).all()


@pytest.mark.parametrize(
    "name", ["class", "def", "match", "1abc", "a b", "", "torch", "group_stat", "__init__",
             "Ñorm", "a\u2028b", "A" * 65, "x;import os", None, 3,
             # names the swap code defines or imports
             "replace_norm_act", "ChannelAffine", "EXPORTED_LAYER", "warnings", "Callable"],
)
def test_bad_class_names_are_refused(name: Any, references: dict[str, LayerGraph]) -> None:
    with pytest.raises(ValueError):
        generate_source(references["evonorm_s0"], class_name=name)


def test_safe_text_is_one_inert_ascii_line() -> None:
    for text in HOSTILE:
        out = safe_text(text)
        assert out.isascii() and out.isprintable() and '"' not in out
        assert len(out.splitlines()) == 1 and len(out) < 1_000


def _strip_docstrings(tree: ast.Module) -> str:
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (isinstance(body, list) and body and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str)):
            body[0] = ast.Pass()
    return ast.dump(tree)


def _hostile_documents(base: dict[str, Any]) -> list[dict[str, Any]]:
    docs = []

    def variant(change: Callable[[dict[str, Any]], Any]) -> None:
        d = copy.deepcopy(base)
        change(d)
        docs.append(d)

    for text in HOSTILE:
        variant(lambda d, t=text: d.update(name=t))
        variant(lambda d, t=text: d.update(format=t))
        variant(lambda d, t=text: d.update(output=t))
        variant(lambda d, t=text: d.update({t: 1}))
        variant(lambda d, t=text: d.update(ui={t: [t, {t: t}]}))
        variant(lambda d, t=text: d["nodes"][0].update(id=t))
        variant(lambda d, t=text: d["nodes"][0].update(op=t))
        variant(lambda d, t=text: d["nodes"][0].update({t: t}))
        variant(lambda d, t=text: d["nodes"][-1].update(inputs=[t, "x"]))
        variant(lambda d, t=text: d["nodes"][3].update(params={t: 1}))
    return docs


def test_hostile_documents_never_become_code(references: dict[str, LayerGraph]) -> None:
    base_graph = references["evonorm_s0"]
    benign = _strip_docstrings(ast.parse(generate_source(base_graph)))
    accepted = 0
    for doc in _hostile_documents(base_graph.to_dict()):
        try:
            g = LayerGraph.from_dict(doc)
        except GraphError:
            continue
        accepted += 1
        source = generate_source(g)
        # Only printable ASCII and newlines: no unicode line separators, no NULs.
        assert all(ch == "\n" or (ch.isascii() and ch.isprintable()) for ch in source)
        # The code is exactly the benign layer's; the text changed docstrings only.
        assert _strip_docstrings(ast.parse(source)) == benign
        module = load_generated(source, "hostile")
        assert set(vars(module)) - set(vars(ModuleType("m"))) == {
            "__builtins__", "torch", "compute_dtype", "signed_sqrt", "VarianceCpu", "variance", "reduce_stat",
            "effective_groups",
            "group_stat", "EvolvedNorm"} | swap_template().names
        assert safe_text(g.name) in (module.__doc__ or "")
        assert torch.isfinite(module.EvolvedNorm(8)(torch.randn(2, 8, 3, 3))).all()
    # Names up to 100 characters and every ui are accepted, so both paths ran.
    assert accepted >= len(HOSTILE)
