"""Search reads, scoped to the owner."""

from __future__ import annotations

from webapp.models import Search


def search_owned_exists(*, owner_id: int, search_id: int) -> bool:
    return Search.objects.filter(owner_id=owner_id, pk=search_id).exists()
