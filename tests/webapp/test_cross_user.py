"""Another user's objects are a 404 everywhere: every API path (taken from the published
schema, so a new endpoint cannot be forgotten), downloads and the websocket."""

from __future__ import annotations

import re

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from tests.webapp.helpers import make_search, queued_ids, result, run_one
from webapp.asgi import application
from webapp.models import ApiToken, Candidate, Layer, LayerVersion, Search
from webapp.services.layers import layer_create
from webapp.services.tokens import token_create

VALID_BODIES = {
    ("put", "/api/layers/{layer_id}"): lambda doc: {"name": "hijack", "document": doc},
    ("post", "/api/searches/{search_id}/control"): lambda doc: {"action": "stop"},
    ("post", "/api/searches/{search_id}/clone"): lambda doc: {"name": "stolen"},
    ("post", "/api/layers/{layer_id}/versions/{version}/restore"): lambda doc: None,
}


@pytest.fixture
def victim_objects(user, s0_doc):
    layer = layer_create(owner=user, name="secret layer", document=s0_doc)
    search = make_search(user)
    run_one(queued_ids(search)[0], result(score=0.9))
    candidate = Candidate.objects.filter(search=search, status="evaluated").first()
    token, _ = token_create(user=user, name="secret token")
    return {"layer_id": layer.pk, "version": 1, "search_id": search.pk, "candidate_id": candidate.pk,
            "token_id": token.pk}


def _snapshot(user) -> dict:
    return {
        "layers": list(Layer.objects.filter(owner=user).values_list("id", "version", "name")),
        "versions": LayerVersion.objects.filter(layer__owner=user).count(),
        "searches": list(Search.objects.filter(owner=user).values_list("id", "status", "last_seq")),
        "tokens": list(ApiToken.objects.filter(user=user).values_list("id", flat=True)),
    }


@pytest.mark.django_db
def test_every_object_endpoint_is_404_for_another_user(user, other_api, victim_objects, s0_doc):
    schema = other_api.get("/api/openapi.json").json()
    before = _snapshot(user)
    tried = []
    for path, operations in schema["paths"].items():
        params = re.findall(r"{(\w+)}", path)
        if not params:
            continue
        url = path.format(**victim_objects)
        for method in operations:
            body_for = VALID_BODIES.get((method, path))
            body = body_for(s0_doc) if body_for else None
            if method in ("post", "put"):
                response = getattr(other_api, f"{method}_json")(url, body)
            else:
                response = getattr(other_api, method)(url)
            tried.append((method, path))
            assert response.status_code == 404, (method, url, response.status_code, response.content[:200])
            assert response.json()["error"]["code"] == "not_found", (method, url)
    assert len(tried) >= 17, tried  # every object endpoint of INTERFACES section 4
    assert {m for m, _ in tried} >= {"get", "put", "post", "delete"}
    assert _snapshot(user) == before  # nothing changed


@pytest.mark.django_db
def test_lists_show_only_own_objects(user, other_user, other_api, victim_objects, s0_doc):
    layer_create(owner=other_user, name="mine", document=s0_doc)
    assert [i["name"] for i in other_api.get("/api/layers").json()["items"]] == ["mine"]
    assert other_api.get("/api/searches").json()["count"] == 0
    assert other_api.get("/api/tokens").json() == []


@pytest.mark.django_db
def test_cannot_seed_a_search_with_anothers_layer(other_api, victim_objects):
    r = other_api.post_json("/api/searches", {"name": "x", "preset": "cpu-quick",
                                              "seed_layer_ids": [victim_objects["layer_id"]]})
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"


@pytest.mark.django_db
def test_admin_is_not_for_users(other_api):
    assert other_api.get("/admin/webapp/search/").status_code == 302


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_websocket_of_another_user_is_4404(victim_objects, other_cookie_header, close_thread_connections):
    comm = WebsocketCommunicator(application, f"/ws/searches/{victim_objects['search_id']}/?after=0",
                                 headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"),
                                          other_cookie_header])
    await comm.connect()
    assert await comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4404}
    await comm.disconnect()
    assert await comm.receive_nothing(timeout=0.2)



@pytest_asyncio.fixture
async def close_thread_connections():
    """The database connection sync_to_async's worker thread opened must not outlive the test."""
    yield
    await sync_to_async(connections.close_all)()

@pytest.fixture
def other_cookie_header(other_user):
    client = Client()
    client.force_login(other_user)
    return (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())
