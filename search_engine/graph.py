"""``LayerGraph``: a parsed, validated layer graph (format ``layer-graph/1``).

A ``LayerGraph`` only exists in a valid state: every way in (``from_dict``,
``from_json``, ``from_nodes`` and the constructor) runs the same rules, in
:mod:`search_engine.validation`, and a violation raises :class:`GraphError`.

``GraphError.code`` is one of these stable strings:

=========================  =====================================================
``bad_json``               ``from_json`` got text that is not JSON
``not_object``             the document, or one entry of ``nodes``, is not an object
``bad_format``             ``format`` missing or not ``layer-graph/1``
``unknown_key``            a key the format does not define (top level or node)
``missing_key``            ``nodes``, or a node's ``id``/``op``/``inputs``, missing
``bad_type``               a value of the wrong JSON type (also ``ui`` not an object
                           or nested too deeply)
``not_finite``             ``eps``/``momentum`` is nan or infinite
``out_of_range``           a number outside its range, or ``name`` too long
``bad_id``                 an id that is not 1-32 characters of ``[A-Za-z0-9_-]``
``reserved_id``            an id that shadows an input (``x``, ``zero``, ``v0``, ``v1``)
``duplicate_id``           two nodes with one id
``unknown_op``             an op the registry does not have
``arity``                  ``inputs`` of the wrong length for the op
``bad_param``              a ``params`` key the op does not take
``unknown_input``          an input that names no node and no input
``cycle``                  the nodes form a cycle (a node using itself included)
``missing_output``         ``output`` absent
``unknown_output``         ``output`` names no node (inputs are not nodes)
``output_independent_of_x``  the output does not depend on ``x``
``too_many_nodes``         more than 256 nodes
=========================  =====================================================

The message names the rule and the node (ids appear ``repr``-escaped and
truncated); ``GraphError.node`` is the offending node's id, or None.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from search_engine.ops import EPS_DEFAULT, FORMAT, MOMENTUM_DEFAULT, OPS

if TYPE_CHECKING:
    from search_engine.canonical import Program
    from search_engine.validation import CheckedGraph

ERROR_CODES: tuple[str, ...] = (
    "bad_json", "not_object", "bad_format", "unknown_key", "missing_key", "bad_type",
    "not_finite", "out_of_range", "bad_id", "reserved_id", "duplicate_id", "unknown_op",
    "arity", "bad_param", "unknown_input", "cycle", "missing_output", "unknown_output",
    "output_independent_of_x", "too_many_nodes",
)  # fmt: skip


class GraphError(ValueError):
    """An invalid layer graph: ``code`` says which rule, ``node`` which node (or None)."""

    def __init__(self, code: str, message: str, node: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.node = node

    def to_dict(self) -> dict[str, Any]:
        """The API's error shape: ``{code, message, node}``."""
        return {"code": self.code, "message": self.message, "node": self.node}


@dataclass(frozen=True)
class Node:
    """One intermediate node: ``op`` applied to ``inputs`` (ids of nodes or inputs)."""

    id: str
    op: str
    inputs: tuple[str, ...]
    params: dict[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        return hash((self.id, self.op, self.inputs, tuple(sorted(self.params.items()))))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "op": self.op, "inputs": list(self.inputs)}
        if OPS[self.op].params:
            d["params"] = dict(self.params)
        return d


class LayerGraph:
    """A valid layer graph. Treat instances as immutable; build new ones instead.

    ``nodes`` keeps the document's order (dead nodes included); the compiled
    and exported forms only compute :meth:`live_nodes`.
    """

    def __init__(
        self,
        nodes: Iterable[Node],
        output: str,
        *,
        eps: float = EPS_DEFAULT,
        momentum: float = MOMENTUM_DEFAULT,
        name: str = "",
        ui: Mapping[str, Any] | None = None,
        _checked_nodes: Iterable[Node] = (),
    ) -> None:
        from search_engine.validation import check_graph

        checked = check_graph(nodes, output, eps=eps, momentum=momentum, name=name, ui=ui,
                              checked_nodes=_checked_nodes)
        self._set_checked(checked, output, name,
                          copy.deepcopy(dict(ui)) if ui is not None else None)

    def _set_checked(self, checked: CheckedGraph, output: str, name: str,
                     ui: dict[str, Any] | None) -> None:
        self.nodes: tuple[Node, ...] = checked.nodes
        self.output: str = output
        self.eps: float = checked.eps
        self.momentum: float = checked.momentum
        self.name: str = name
        self.ui: dict[str, Any] | None = ui
        self._by_id: dict[str, Node] = checked.by_id
        self._topo: tuple[str, ...] = checked.order
        self._live: frozenset[str] = checked.live
        self._program: Program | None = None
        self._hash: str | None = None
        self._live_nodes: tuple[Node, ...] | None = None
        self._readers: dict[str, tuple[str, ...]] | None = None
        self._with_x: frozenset[str] | None = None
        self._node_ids: frozenset[int] | None = None
        self._memo: dict[Any, Any] = {}

    # --- construction ---------------------------------------------------------

    @classmethod
    def from_nodes(
        cls,
        nodes: Iterable[Node],
        output: str,
        *,
        eps: float = EPS_DEFAULT,
        momentum: float = MOMENTUM_DEFAULT,
        name: str = "",
        ui: Mapping[str, Any] | None = None,
    ) -> LayerGraph:
        """Build from :class:`Node` objects (the search's mutation path); same rules."""
        return cls(nodes, output, eps=eps, momentum=momentum, name=name, ui=ui)

    @classmethod
    def from_parent(cls, parent: LayerGraph, nodes: Iterable[Node], output: str) -> LayerGraph:
        """A graph derived from ``parent`` (the search's mutations): same rules,
        same eps and momentum; nodes taken unchanged from ``parent`` (the same
        objects) are not checked one by one again, the graph as a whole is
        (:func:`~search_engine.validation.check_structure`: the verdict is
        ``from_nodes``'s, with the parent's eps and momentum)."""
        from search_engine.validation import check_structure

        if parent._node_ids is None:
            parent._node_ids = frozenset(id(n) for n in parent.nodes)
        checked = check_structure(list(nodes), output, parent.eps, parent.momentum,
                                  parent._node_ids)
        child = cls.__new__(cls)
        child._set_checked(checked, output, "", None)
        return child

    @classmethod
    def from_dict(cls, doc: Any) -> LayerGraph:
        """Parse a graph document (any JSON value); invalid ones raise :class:`GraphError`."""
        from search_engine.validation import parse_document

        fields = parse_document(doc)
        return cls(fields.nodes, fields.output, eps=fields.eps, momentum=fields.momentum,
                   name=fields.name, ui=fields.ui)

    @classmethod
    def from_json(cls, text: str | bytes) -> LayerGraph:
        """Parse JSON text; text that is not JSON raises ``GraphError("bad_json")``."""
        try:
            doc = json.loads(text)
        except (ValueError, TypeError, RecursionError) as exc:
            raise GraphError("bad_json", f"not valid JSON: {exc}") from None
        return cls.from_dict(doc)

    def renamed(self, name: str) -> LayerGraph:
        """The same graph under another ``name`` (checked like any name; the
        structure, already valid, is shared instead of checked again)."""
        from search_engine.validation import check_name

        twin = LayerGraph.__new__(LayerGraph)
        twin.__dict__.update(self.__dict__)
        twin.name = check_name(name)
        return twin

    # --- serialisation ----------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The document form; ``from_dict(g.to_dict()) == g``."""
        doc: dict[str, Any] = {
            "format": FORMAT,
            "name": self.name,
            "eps": self.eps,
            "momentum": self.momentum,
            "nodes": [n.to_dict() for n in self.nodes],
            "output": self.output,
        }
        if self.ui is not None:
            doc["ui"] = copy.deepcopy(self.ui)
        return doc

    def to_json(self, *, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    # --- identity ---------------------------------------------------------------

    def program(self) -> Program:
        """The canonical straight-line program (shared by compiler and codegen)."""
        if self._program is None:
            from search_engine.canonical import build_program

            self._program = build_program(self)
        return self._program

    def canonical_dict(self) -> dict[str, Any]:
        """The canonical form of GRAPH_FORMAT.md (no name/ui/dead nodes, positional ids)."""
        return self.program().canonical_dict()

    def canonical_json(self) -> str:
        return self.program().canonical_json()

    def canonical_hash(self) -> str:
        """SHA-256 (hex) of :meth:`canonical_json`: equal hashes, equal functions."""
        if self._hash is None:
            self._hash = self.program().canonical_hash()
        return self._hash

    # --- structure --------------------------------------------------------------

    def node(self, node_id: str) -> Node:
        return self._by_id[node_id]

    @property
    def mode(self) -> str:
        """``"B"`` when a live node is a ``batch_*`` op, else ``"S"`` (dead nodes compute nothing)."""
        return "B" if any(OPS[n.op].batch for n in self.live_nodes()) else "S"

    def has_batch_ops(self) -> bool:
        """Whether any node, dead ones included, is a ``batch_*`` op (for S-mode searches)."""
        return any(OPS[n.op].batch for n in self.nodes)

    def live_nodes(self) -> tuple[Node, ...]:
        """Nodes the output depends on, in a topological order (inputs first)."""
        if self._live_nodes is None:
            self._live_nodes = tuple(self._by_id[i] for i in self._topo if i in self._live)
        return self._live_nodes

    def dead_nodes(self) -> tuple[Node, ...]:
        """Nodes the output does not depend on, in document order."""
        return tuple(n for n in self.nodes if n.id not in self._live)

    def readers(self) -> dict[str, tuple[str, ...]]:
        """For each node or input that some node reads: the ids of the nodes reading it."""
        if self._readers is None:
            readers: dict[str, list[str]] = {}
            for n in self.nodes:
                for i in n.inputs:
                    readers.setdefault(i, []).append(n.id)
            self._readers = {k: tuple(v) for k, v in readers.items()}
        return self._readers

    def depends_on_x(self) -> frozenset[str]:
        """``x`` and the ids of the nodes whose value depends on it."""
        if self._with_x is None:
            found = {"x"}
            for node_id in self._topo:
                if any(i in found for i in self._by_id[node_id].inputs):
                    found.add(node_id)
            self._with_x = frozenset(found)
        return self._with_x

    def memo(self, key: Any, compute: Callable[[LayerGraph], Any]) -> Any:
        """``compute(self)``, computed once per ``key`` for this graph: a value
        derived from its structure (immutable), such as what a mutation may
        rewire, which the search asks of one parent again and again."""
        try:
            return self._memo[key]
        except KeyError:
            value = self._memo[key] = compute(self)
            return value

    def topological_order(self) -> tuple[str, ...]:
        """All node ids, each after its inputs (ties in document order)."""
        return self._topo

    def formula(self) -> str:
        """A readable formula, e.g. ``x / max(sqrt(batch_var(x)), v1*x + sqrt(instance_var(x)))``."""
        from search_engine.formula import render_formula

        return render_formula(self)

    # --- dunder -----------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerGraph):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.canonical_hash())

    def __repr__(self) -> str:
        return (f"LayerGraph(name={self.name[:40]!r}, nodes={len(self.nodes)}, "
                f"live={len(self._live)}, mode={self.mode!r})")
