"""Row locks of the search flow, taken in this order everywhere in the app: the owner's quota
row, then the search row, then candidate (or rerank job) rows.

The lowest layer of the search flow (docs/INTERFACES.md, section 3): it imports no other
search-flow module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import transaction

from webapp.models import Candidate, RerankJob, Search, UserQuota
from webapp.services.quotas import quota_lock


@contextlib.contextmanager
def search_locked(*, search_id: int) -> Iterator[tuple[Search, UserQuota] | None]:
    """A transaction holding the owner's quota row and the search row (None if no such search)."""
    owner_id = Search.objects.filter(pk=search_id).values_list("owner_id", flat=True).first()
    if owner_id is None:
        yield None
        return
    with transaction.atomic():
        quota = quota_lock(user_id=owner_id)
        search = Search.objects.select_for_update().filter(pk=search_id).first()
        yield (search, quota) if search is not None else None


@contextlib.contextmanager
def work_locked(*, model: type[Candidate] | type[RerankJob], pk: int) -> Iterator[tuple | None]:
    """``search_locked`` for the search of a candidate or rerank job, then that row locked too:
    yields ``(search, quota, row)``, or None when either is gone."""
    search_id = model.objects.filter(pk=pk).values_list("search_id", flat=True).first()
    if search_id is None:
        yield None
        return
    with search_locked(search_id=search_id) as locked:
        row = model.objects.select_for_update().filter(pk=pk).first() if locked is not None else None
        yield (*locked, row) if row is not None else None
