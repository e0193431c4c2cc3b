"""Layers: create, read, update (a new version), list, versions, restore, checks, export."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from webapp.api.pagination import PageQuery, paginate
from webapp.api.schemas import (
    DocumentIn,
    LayerDetailOut,
    LayerIn,
    LayerPageOut,
    LayerSavedOut,
    LayerVersionDetailOut,
    LayerVersionOut,
    ValidateOut,
)
from webapp.selectors import layers as sel
from webapp.services import exports
from webapp.services import layers as svc
from webapp.services.graphs import graph_validate
from webapp.services.names import download_filename

router = Router(tags=["layers"])


@router.post("/validate", response=ValidateOut)
def validate(request: HttpRequest, body: DocumentIn) -> dict:
    return graph_validate(document=body.document)


@router.post("/numeric-check", response=Any)
def numeric_check(request: HttpRequest, body: DocumentIn) -> Any:
    return exports.numeric_check(document=body.document)


@router.get("", response=LayerPageOut)
def list_layers(request: HttpRequest, q: Query[PageQuery]) -> dict:
    return paginate(sel.layer_list(owner=request.auth), page=q.page, page_size=q.page_size,
                    serialize=sel.layer_summary)


@router.post("", response={201: LayerDetailOut})
def create_layer(request: HttpRequest, body: LayerIn) -> Status:
    layer = svc.layer_create(owner=request.auth, name=body.name, document=body.document)
    return Status(201, sel.layer_detail(layer))


@router.get("/{id:layer_id}", response=LayerDetailOut)
def get_layer(request: HttpRequest, layer_id: int) -> dict:
    return sel.layer_detail(sel.layer_get(owner=request.auth, layer_id=layer_id))


@router.put("/{id:layer_id}", response=LayerSavedOut)
def update_layer(request: HttpRequest, layer_id: int, body: LayerIn) -> dict:
    layer = svc.layer_update(owner=request.auth, layer_id=layer_id, name=body.name, document=body.document)
    return {**sel.layer_detail(layer), "layout_only": layer.layout_only}


@router.delete("/{id:layer_id}", response={204: None})
def delete_layer(request: HttpRequest, layer_id: int) -> Status:
    svc.layer_delete(owner=request.auth, layer_id=layer_id)
    return Status(204, None)


@router.get("/{id:layer_id}/versions", response=list[LayerVersionOut])
def list_versions(request: HttpRequest, layer_id: int) -> list[dict]:
    return sel.layer_version_summaries(owner=request.auth, layer_id=layer_id)


@router.get("/{id:layer_id}/versions/{id:version}", response=LayerVersionDetailOut)
def get_version(request: HttpRequest, layer_id: int, version: int) -> dict:
    found = sel.layer_version_get(owner=request.auth, layer_id=layer_id, version=version)
    return {**sel.layer_version_summary(found, sel.layer_version_previous(found)), "document": found.document}


@router.post("/{id:layer_id}/versions/{id:version}/restore", response=LayerSavedOut)
def restore_version(request: HttpRequest, layer_id: int, version: int) -> dict:
    layer = svc.layer_restore(owner=request.auth, layer_id=layer_id, version=version)
    return {**sel.layer_detail(layer), "layout_only": layer.layout_only}


@router.get("/{id:layer_id}/export.py")
def export_layer(request: HttpRequest, layer_id: int) -> HttpResponse:
    """The layer as a PyTorch module needing only torch: its class, and
    `replace_norm_act(model)`, which returns your model with every BatchNorm2d
    followed by a ReLU swapped for the layer (`model, n = replace_norm_act(model)`)."""
    layer = sel.layer_get(owner=request.auth, layer_id=layer_id)
    filename = download_filename(name=layer.name, suffix=".py", fallback=f"layer_{layer.pk}")
    return python_attachment(exports.layer_source(document=layer.document), filename)


def python_attachment(source: str, filename: str) -> HttpResponse:
    response = HttpResponse(source, content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
