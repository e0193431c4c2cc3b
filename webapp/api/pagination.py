"""``?page=&page_size=`` paging for list endpoints: ``{"count", "items"}``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from pydantic import BaseModel, Field

MAX_PAGE_SIZE = 500


class PageQuery(BaseModel):
    page: int = Field(1, ge=1, le=1_000_000)
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)


def paginate(queryset: QuerySet, *, page: int, page_size: int, serialize: Callable[[Any], dict]) -> dict:
    start = (page - 1) * page_size
    items = [serialize(obj) for obj in queryset[start : start + page_size]]
    return {"count": queryset.count(), "items": items}
