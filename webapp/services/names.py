"""The one rule for user-given names (layers, searches, tokens): 1 to 100 characters, trimmed."""

from __future__ import annotations

from typing import Any

from webapp.errors import InvalidInput

MAX_NAME = 100


def name_clean(*, name: Any, field: str = "name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput(f"{field} must be a non-empty string", field=field)
    name = name.strip()
    if len(name) > MAX_NAME:
        raise InvalidInput(f"{field} must be at most {MAX_NAME} characters", field=field)
    return name
