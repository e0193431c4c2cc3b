"""Request parsing that only lets through what every supported database can store.

PostgreSQL refuses NUL characters in text and JSON, lone UTF-16 surrogates,
and NaN/Infinity in JSON; SQLite would take them and PostgreSQL would then
fail with a 500. Rejecting them here, for every endpoint at once, keeps the
two databases alike and the client's error a 400.
"""

from __future__ import annotations

import json
import math
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from webapp.errors import InvalidInput, LabError

MAX_DEPTH = 64


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    """A JSON number; one too large for a double (``1e999``) is refused, not read as infinity."""
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"the number {text[:40]} is too large")
    return value


def check_storable(value: Any, *, depth: int = 0, where: str = "body") -> None:
    """Raise ``InvalidInput`` for text no database here can store, or absurd nesting."""
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{where} is nested too deeply", field=where)
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput(f"{where} contains a NUL character", field=where)
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidInput(f"{where} contains an unpaired surrogate", field=where) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, depth=depth + 1, where=where)
            check_storable(item, depth=depth + 1, where=where)
    elif isinstance(value, list):
        for item in value:
            check_storable(item, depth=depth + 1, where=where)


class StorableJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        # Django checks Content-Length against this limit; a chunked body has none.
        if len(request.body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise LabError("The request body is too large.", code="too_large", status=413)
        data = json.loads(request.body, parse_constant=_reject_constant, parse_float=_finite_float)
        check_storable(data)
        return data

    def parse_querydict(self, data: MultiValueDict, list_fields: list[str], request: HttpRequest) -> dict:
        result = super().parse_querydict(data, list_fields, request)
        for key, value in result.items():
            check_storable(key, where="query")
            check_storable(value, where=key if isinstance(key, str) else "query")
        return result
