"""``?page=&page_size=`` paging for list endpoints: ``{"count", "items"}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

MAX_PAGE_SIZE = 500


def paginate(queryset: QuerySet, *, page: int, page_size: int, serialize: Callable[[Any], dict]) -> dict:
    start = (page - 1) * page_size
    items = [serialize(obj) for obj in queryset[start : start + page_size]]
    return {"count": queryset.count(), "items": items}
