"""The one rule for user-given names (layers, searches, tokens): 1 to 100 characters, trimmed;
and the file names downloads get from them."""

from __future__ import annotations

import re
import unicodedata
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


def download_filename(*, name: str, suffix: str, fallback: str) -> str:
    """A file name for a download named after a user's layer or search: ASCII letters, digits,
    ``-``, ``_`` and ``.`` only (accents dropped, anything else a ``_``), no leading dot, at
    most 80 characters before ``suffix``; ``fallback`` when nothing is left.

    A ``.py`` file is named as an importable module: lower case, ``_`` for ``-`` and ``.``,
    never starting with a digit (``EvoNorm-B0`` gives ``evonorm_b0.py``).
    """
    ascii_name = unicodedata.normalize("NFKD", name or "").encode("ascii", "ignore").decode("ascii")
    allowed = r"[^a-z0-9_]+" if suffix == ".py" else r"[^A-Za-z0-9._-]+"
    text = ascii_name.lower() if suffix == ".py" else ascii_name
    stem = re.sub(allowed, "_", text).strip("._-")[:80].rstrip("._-")
    stem = stem or fallback
    if suffix == ".py" and stem[0].isdigit():
        stem = f"layer_{stem}"
    return f"{stem}{suffix}"
