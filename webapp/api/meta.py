"""Read-only catalogues from the engine: ops, reference layers, presets, data sets; and who am I."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from webapp.api.schemas import MeOut

router = Router(tags=["catalogue"])


@router.get("/me", response=MeOut)
def me(request: HttpRequest) -> dict:
    return {"id": request.auth.pk, "username": request.auth.get_username()}


@router.get("/ops", response=Any)
def ops(request: HttpRequest) -> Any:
    from search_engine.ops import op_registry_json

    return op_registry_json()


@router.get("/reference-layers", response=Any)
def reference_layers(request: HttpRequest) -> Any:
    from search_engine.library import reference_catalog

    return reference_catalog()


@router.get("/presets", response=Any)
def presets(request: HttpRequest) -> Any:
    from search_engine.presets import presets_json

    return presets_json()


@router.get("/datasets", response=Any)
def datasets(request: HttpRequest) -> Any:
    """The data sets a search may name (``eval.dataset``), and whether this server has each one."""
    from webapp.selectors.datasets import datasets_offered

    return datasets_offered()
