"""The web app's door into ``search_engine``'s graph core.

Client documents are parsed here and nowhere else, so every way a document can
be wrong becomes an ``InvalidInput`` with the engine's error code, never a 500.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from webapp.errors import InvalidInput

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ParsedLayer:
    graph: Any  # search_engine.graph.LayerGraph
    document: dict
    canonical_hash: str
    formula: str
    mode: str


def graph_parse(*, document: Any) -> ParsedLayer:
    """Validate a client's graph document; raise ``InvalidInput`` with the engine's code."""
    from search_engine.graph import GraphError, LayerGraph

    try:
        graph = LayerGraph.from_dict(document)
        return ParsedLayer(
            graph=graph,
            document=document,
            canonical_hash=graph.canonical_hash(),
            formula=graph.formula(),
            mode=graph.mode,
        )
    except GraphError as err:
        raise InvalidInput(str(err), code=err.code, node=getattr(err, "node", None), field="document") from err
    except (TypeError, ValueError, KeyError, AttributeError, IndexError, RecursionError) as err:
        # The engine should have said GraphError; a client still never gets a 500.
        log.warning("engine raised %r on a client document", err)
        raise InvalidInput(f"invalid graph document: {err}", code="invalid_document", field="document") from err


def graph_validate(*, document: Any) -> dict:
    """The editor's live check: invalid is data here, not an error."""
    try:
        parsed = graph_parse(document=document)
    except InvalidInput as err:
        return {"valid": False, "error": err.as_dict(), "formula": None, "mode": None,
                "canonical_hash": None, "live_nodes": [], "warnings": []}
    live = _live_node_ids(parsed.graph)
    return {
        "valid": True,
        "error": None,
        "formula": parsed.formula,
        "mode": parsed.mode,
        "canonical_hash": parsed.canonical_hash,
        "live_nodes": list(live),
        "warnings": unused_node_warnings(document=parsed.document, live=set(live)),
    }


def unused_node_warnings(*, document: dict, live: set[str]) -> list[dict]:
    """Nodes the output does not depend on: allowed by the format, worth a word to the user."""
    return [
        {
            "code": "unused_node",
            "node": node["id"],
            "message": f"{node['id']} ({node['op']}) is not used by the output: it is neither computed nor exported.",
        }
        for node in document.get("nodes", [])
        if node["id"] not in live
    ]


def _live_node_ids(graph: Any) -> list[str]:
    live = graph.live_nodes()
    return [n if isinstance(n, str) else getattr(n, "id", str(n)) for n in live]


def graph_from_stored(*, document: dict) -> Any:
    """A document that was valid when stored; parse errors here are server bugs."""
    from search_engine.graph import LayerGraph

    return LayerGraph.from_dict(document)
