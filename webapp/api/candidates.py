"""Candidates: detail with curves and lineage, generated module, export bundle."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Router

from webapp.api.layers import python_attachment
from webapp.models import Candidate
from webapp.selectors.candidates import candidate_detail, candidate_get
from webapp.services import exports
from webapp.services.bundles import candidate_bundle
from webapp.services.names import download_filename

router = Router(tags=["candidates"])


@router.get("/{id:candidate_id}", response=Any)
def get_candidate(request: HttpRequest, candidate_id: int) -> dict:
    return candidate_detail(candidate=candidate_get(owner=request.auth, candidate_id=candidate_id))


@router.get("/{id:candidate_id}/export.py")
def export_candidate(request: HttpRequest, candidate_id: int) -> HttpResponse:
    """The layer as a PyTorch module needing only torch: its class, and
    `replace_norm_act(model)`, which returns your model with every BatchNorm2d
    followed by a ReLU swapped for the layer (`model, n = replace_norm_act(model)`)."""
    candidate = candidate_get(owner=request.auth, candidate_id=candidate_id)
    filename = download_filename(name=_download_name(candidate), suffix=".py", fallback=f"candidate_{candidate.pk}")
    return python_attachment(exports.layer_source(document=candidate.document), filename)


@router.get("/{id:candidate_id}/bundle.zip")
def bundle(request: HttpRequest, candidate_id: int) -> HttpResponse:
    """A zip: `layer.py` (the module, with `replace_norm_act`), `graph.json`,
    `metrics.json`, `expected.json`, `test_layer.py` (pytest) and `README.md`, a
    model card showing the lines that swap the layer into your own model."""
    candidate = candidate_get(owner=request.auth, candidate_id=candidate_id)
    response = HttpResponse(candidate_bundle(candidate=candidate), content_type="application/zip")
    filename = download_filename(name=_download_name(candidate), suffix=".zip", fallback=f"candidate_{candidate.pk}")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _download_name(candidate: Candidate) -> str:
    """A candidate's layer has no name of its own: it is called after its search and number."""
    return f"{candidate.search.name} candidate {candidate.pk}"
