"""The JSON API under ``/api/`` (schema at ``/api/openapi.json``, docs at ``/api/docs``).

Views here only translate HTTP to service and selector calls; see
docs/INTERFACES.md section 4 for the contract.
"""

from __future__ import annotations

from ninja import NinjaAPI

from webapp.api import (
    candidates,
    converters,  # noqa: F401 - registers {id:...} before the routers use it
    layers,
    meta,
    searches,
    tokens,
)
from webapp.api.auth import AUTH
from webapp.api.errors import install_error_handlers
from webapp.api.parser import StorableJsonParser

api = NinjaAPI(
    title="Layer lab API",
    version="1",
    description="Design normalization-activation layers, run evolutionary searches, export results.",
    urls_namespace="api",
    auth=AUTH,
    parser=StorableJsonParser(),
)
install_error_handlers(api)
api.add_router("", meta.router)
api.add_router("/layers", layers.router)
api.add_router("/searches", searches.router)
api.add_router("/candidates", candidates.router)
api.add_router("/tokens", tokens.router)
