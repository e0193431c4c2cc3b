"""Issue 11, item 8: a document's size is capped, and so are the bytes each user keeps."""

from __future__ import annotations

import pytest

from tests.webapp.helpers import small_overrides
from webapp.models import Layer, LayerVersion, Search
from webapp.services.storage import document_size, storage_used

pytestmark = pytest.mark.django_db


def _with_ui(doc: dict, size: int) -> dict:
    return {**doc, "ui": {"note": "x" * size}}


def _changed(doc: dict, k: int) -> dict:
    """``doc`` with another eps: a save of it adds a version (a save that only
    changes the layout does not)."""
    return {**doc, "eps": 1e-5 * (k + 2)}


def test_a_document_over_the_cap_is_refused_and_nothing_is_stored(api, s0_doc, settings) -> None:
    settings.LAB_MAX_DOCUMENT_BYTES = 50_000
    big = _with_ui(s0_doc, 60_000)
    response = api.post_json("/api/layers", {"name": "big", "document": big})
    assert response.status_code == 413, response.content[:300]
    error = response.json()["error"]
    assert error["code"] == "too_large" and error["field"] == "document" and "limit" in error["message"]
    assert not Layer.objects.exists()

    layer = api.post_json("/api/layers", {"name": "small", "document": s0_doc}).json()
    response = api.put_json(f"/api/layers/{layer['id']}", {"name": "big", "document": big})
    assert response.status_code == 413
    assert LayerVersion.objects.count() == 1 and Layer.objects.get().name == "small"


def test_a_users_stored_bytes_are_capped_with_a_clear_error(api, other_api, s0_doc, settings) -> None:
    doc = _with_ui(s0_doc, 20_000)
    size = document_size(doc)
    # The first save stores the layer and a version (2 sizes), each later one a version (1 more).
    settings.LAB_QUOTA_STORAGE_BYTES = int(4.5 * size)
    first = api.post_json("/api/layers", {"name": "a", "document": doc}).json()
    for k in range(2):
        saved = api.put_json(f"/api/layers/{first['id']}", {"name": "a", "document": _changed(doc, k)})
        assert saved.status_code == 200
    refused = api.put_json(f"/api/layers/{first['id']}", {"name": "a", "document": _changed(doc, 2)})
    assert refused.status_code == 413, refused.content[:300]
    error = refused.json()["error"]
    assert error["code"] == "storage_full" and "Delete layers or searches" in error["message"]
    assert LayerVersion.objects.count() == 3  # nothing added
    assert api.post_json("/api/layers", {"name": "b", "document": doc}).status_code == 413
    assert api.post(f"/api/layers/{first['id']}/versions/1/restore").status_code == 413
    # Searches count too.
    search = api.post_json("/api/searches", {"name": "s", "preset": "cpu-quick", "overrides": small_overrides(),
                                             "seed_layer_ids": [first["id"]]})
    assert search.status_code == 413 and not Search.objects.exists()
    # Another user is not affected; deleting frees room.
    assert other_api.post_json("/api/layers", {"name": "c", "document": doc}).status_code == 201
    assert api.delete(f"/api/layers/{first['id']}").status_code == 204
    assert api.post_json("/api/layers", {"name": "b", "document": doc}).status_code == 201


def test_storage_used_measures_what_is_kept(user, api, s0_doc) -> None:
    doc = _with_ui(s0_doc, 10_000)
    layer = api.post_json("/api/layers", {"name": "a", "document": doc}).json()
    api.put_json(f"/api/layers/{layer['id']}", {"name": "a", "document": _changed(doc, 0)})
    expected = 3 * document_size(doc)  # the layer and two versions
    assert expected <= storage_used(user_id=user.pk) <= 1.2 * expected + 2000
    before = storage_used(user_id=user.pk)
    api.post_json("/api/searches", {"name": "s", "preset": "cpu-quick", "overrides": small_overrides(),
                                    "seed_layer_ids": [layer["id"]]})
    assert storage_used(user_id=user.pk) >= before + document_size(doc)
