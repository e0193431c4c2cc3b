"""Generated PyTorch source for a stored layer or candidate."""

from __future__ import annotations

from webapp.services.graphs import graph_from_stored, graph_parse

CLASS_NAME = "EvolvedNorm"


def layer_source(*, document: dict) -> str:
    from search_engine.codegen import generate_source

    return generate_source(graph_from_stored(document=document), class_name=CLASS_NAME)


def numeric_check(*, document: object) -> dict:
    """The editor's "check numerics" action on a client document (400 when invalid)."""
    from search_engine.probe import numeric_probe

    return numeric_probe(graph_parse(document=document).graph)
