"""The services import only downward (docs/INTERFACES.md, section 3, "Service layers").

Every module of ``webapp/services`` has a declared layer; a module may import modules of its
own layer or below, never above, and no set of modules imports itself round (counting imports
inside functions, which merely importing a module would not run). A new module must be given
a layer here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import webapp.services

PACKAGE = "webapp.services"
SERVICES_DIR = Path(webapp.services.__file__).parent

# Lowest first. Within a layer, imports are allowed as long as they make no cycle.
LAYERS: list[tuple[str, set[str]]] = [
    ("foundations", {"jsonsafe", "names", "results", "dispatch", "engine", "events", "throttle", "graphs",
                     "exports", "storage", "quotas", "attempts"}),
    ("locks", {"locks"}),
    ("search state", {"search_state"}),
    ("stages", {"rerank_stage"}),
    ("advance", {"advance"}),
    ("the rest", {"candidates", "rerank", "reaper", "searches", "layers", "tokens", "bundles"}),
    ("facade", {"__init__"}),
]
LAYER_OF = {module: rank for rank, (_name, modules) in enumerate(LAYERS) for module in modules}


def _modules() -> list[str]:
    return sorted(p.stem for p in SERVICES_DIR.glob("*.py"))


def service_imports(module: str) -> set[str]:
    """The ``webapp.services`` modules that ``module`` imports anywhere in its source.

    ``from webapp.services import dispatch`` names the submodule; a name that is no submodule
    (``from webapp.services import search_advance``) comes from the package's ``__init__``.
    """
    tree = ast.parse((SERVICES_DIR / f"{module}.py").read_text())
    submodules = set(_modules())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(f"{PACKAGE}."):
                    found.add(alias.name.split(".")[2])
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == PACKAGE:
                found.update(a.name if a.name in submodules else "__init__" for a in node.names)
            elif node.module.startswith(f"{PACKAGE}."):
                found.add(node.module.split(".")[2])
    found.discard(module)
    return found


def import_graph() -> dict[str, set[str]]:
    return {module: service_imports(module) for module in _modules()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in graph.get(node, ()):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_every_service_module_has_a_layer() -> None:
    unplaced = sorted(set(_modules()) - set(LAYER_OF))
    assert not unplaced, f"give these modules a layer in {__name__}.LAYERS: {unplaced}"
    gone = sorted(set(LAYER_OF) - set(_modules()))
    assert not gone, f"LAYERS names modules that no longer exist: {gone}"


def test_services_import_only_downward() -> None:
    upward = [
        f"{module} ({LAYERS[LAYER_OF[module]][0]}) imports {target} ({LAYERS[LAYER_OF[target]][0]})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if module in LAYER_OF and target in LAYER_OF and LAYER_OF[target] > LAYER_OF[module]
    ]
    assert not upward, "upward imports:\n" + "\n".join(upward)


def test_services_import_no_cycle() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"advance": {"rerank"}, "rerank": {"advance", "events"}, "events": set()}) == [
        ["advance", "rerank"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
