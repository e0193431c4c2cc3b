"""Storage caps: one document's size, and the bytes each user keeps (layers, versions, searches).

A layer document has a free-form ``ui`` object, so without a cap ten saves of
one layer could store megabytes. Sizes are the compact JSON text in UTF-8, as
the API receives and returns it; what a user keeps is summed by the database
(its own JSON text, so a rough measure, never an undercount by much).
Checked while the user's quota row is locked, so concurrent saves cannot
overshoot together.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Func, IntegerField, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import SQLCompiler

from webapp.errors import LabError
from webapp.models import Layer, LayerVersion, Search


class StorageFull(LabError):
    status = 413
    code = "storage_full"


class JsonBytes(Func):
    """Bytes of a JSON column's text, in SQL."""

    output_field = IntegerField()
    template = "LENGTH(CAST(%(expressions)s AS BLOB))"

    def as_postgresql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper,
                      **extra_context: Any) -> tuple[str, list]:
        return self.as_sql(compiler, connection, template="OCTET_LENGTH(%(expressions)s::text)", **extra_context)


def document_size(value: Any) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "surrogatepass"))


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB" if n >= 100_000 else f"{n / 1000:.0f} KB"


def document_check_size(*, document: Any, field: str = "document") -> int:
    """The document's size; ``StorageFull`` (413) past ``LAB_MAX_DOCUMENT_BYTES``."""
    size = document_size(document)
    limit = settings.LAB_MAX_DOCUMENT_BYTES
    if size > limit:
        raise LabError(f"The {field} is {_megabytes(size)}; the limit is {_megabytes(limit)}. "
                       "Layer documents are small; is something large in its ui?",
                       code="too_large", field=field, status=413)
    return size


def storage_used(*, user_id: int) -> int:
    """Bytes the user keeps: layer documents, their versions, search configs and seed layers."""
    def total(qs: QuerySet, *columns: str) -> int:
        sums = {c: Coalesce(Sum(JsonBytes(c)), 0) for c in columns}
        return sum(qs.aggregate(**sums).values())

    return (total(Layer.objects.filter(owner_id=user_id), "document")
            + total(LayerVersion.objects.filter(layer__owner_id=user_id), "document")
            + total(Search.objects.filter(owner_id=user_id), "config", "seed_documents"))


def storage_check(*, user_id: int, adding: int) -> None:
    """``StorageFull`` when ``adding`` more bytes would take the user past ``LAB_QUOTA_STORAGE_BYTES``.

    Call with the user's quota row locked (``quota_lock``).
    """
    limit = settings.LAB_QUOTA_STORAGE_BYTES
    used = storage_used(user_id=user_id)
    if used + adding > limit:
        raise StorageFull(
            f"Your layers, versions and searches take {_megabytes(used)} of your {_megabytes(limit)}; "
            f"this would add {_megabytes(adding)}. Delete layers or searches you no longer need.")
