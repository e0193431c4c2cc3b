"""Nothing a client sends produces a 500: garbage to every write endpoint and odd query strings.

The write endpoints come from the published schema, on the sender's own
objects, so requests get past the ownership check into the services.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.webapp.helpers import make_search, queued_ids, result, run_one
from webapp.models import Candidate
from webapp.services.layers import layer_create
from webapp.services.tokens import token_create

pytestmark = pytest.mark.django_db

NESTED = "[" * 5000 + "]" * 5000

GARBAGE_BODIES = [
    "", "null", "true", "0", "-1", '"text"', "[]", "{", "}", "{]", "\x00\x01", '"\\ud800"', '{"a": NaN}',
    NESTED,
    json.dumps({"document": 5}), json.dumps({"document": None}), json.dumps({"document": "x" * 10000}),
    json.dumps({"document": {"format": "layer-graph/1", "nodes": "no", "output": 3}}),
    json.dumps({"document": {"format": "layer-graph/1", "nodes": [{"id": {}, "op": [], "inputs": 7}]}}),
    json.dumps({"document": {"format": "layer-graph/1", "nodes": [None, 1, "x"], "output": "x"}}),
    json.dumps({"document": {"format": "layer-graph/1", "eps": "tiny", "nodes": [], "output": "x"}}),
    json.dumps({"document": {"format": "layer-graph/1", "eps": 1e400, "nodes": [], "output": "x"}}),
    json.dumps({"name": ["a"], "document": {}}), json.dumps({"name": "x" * 5000, "document": {}}),
    json.dumps({"name": 5, "preset": 5}), json.dumps({"name": "x", "preset": "cpu-quick", "overrides": "no"}),
    json.dumps({"name": "x", "preset": "cpu-quick", "overrides": {"eval": 5}}),
    json.dumps({"name": "x", "preset": "cpu-quick", "overrides": {"eval": {"architectures": "resnet50"}}}),
    json.dumps({"name": "x", "preset": "cpu-quick", "overrides": {"budget": 1e300, "parallel": -3}}),
    json.dumps({"name": "x", "preset": "cpu-quick", "overrides": {"population_size": None}}),
    json.dumps({"name": "x", "preset": "cpu-quick", "seed": 1e30}),
    json.dumps({"name": "x", "preset": "cpu-quick", "seed_layer_ids": ["a", None]}),
    json.dumps({"name": "x", "preset": "cpu-quick", "seed_layer_ids": [2**70]}),
    json.dumps({"name": "x", "preset": "cpu-quick", "seed_references": [{"a": 1}]}),
    json.dumps({"name": "\ud800 lone surrogate\x00", "document": {"format": "layer-graph/1", "name": "\udfff"}}),
    json.dumps({"name": "\ud800", "preset": "cpu-quick"}),
    json.dumps({"action": None}), json.dumps({"action": "PAUSE"}), json.dumps({"action": ["pause"]}),
    json.dumps({"budget": "lots"}), json.dumps({"budget": 0}), json.dumps({"name": ""}),
]


@pytest.fixture
def own_objects(user, s0_doc):
    layer = layer_create(owner=user, name="mine", document=s0_doc)
    search = make_search(user)
    run_one(queued_ids(search)[0], result(score=0.8))
    candidate = Candidate.objects.filter(search=search).first()
    token, _ = token_create(user=user, name="t")
    return {"layer_id": layer.pk, "version": 1, "search_id": search.pk, "candidate_id": candidate.pk,
            "token_id": token.pk}


def _check(response, what) -> None:
    assert response.status_code < 500, (what, response.status_code, response.content[:300])
    if response.status_code >= 400:
        body = response.json()
        assert set(body["error"]) == {"code", "message", "node", "field"}, (what, body)


def test_garbage_bodies_to_every_write_endpoint(api, own_objects, settings):
    settings.LAB_QUOTA_SEARCHES = 1000
    schema = api.get("/api/openapi.json").json()
    writes = [(path, method) for path, ops in schema["paths"].items() for method in ops
              if method in ("post", "put")]
    assert len(writes) >= 9
    for path, method in writes:
        url = path.format(**own_objects)
        for body in GARBAGE_BODIES:
            response = getattr(api, method)(url, body, content_type="application/json")
            _check(response, (method, url, body[:60]))
        response = getattr(api, method)(url, b"\xff\xfe garbage", content_type="application/json")
        _check(response, (method, url, "bytes"))
        response = getattr(api, method)(url, "a=1&b=2", content_type="application/x-www-form-urlencoded")
        _check(response, (method, url, "form"))


def test_too_large_body_is_413(api):
    big = json.dumps({"name": "x", "document": {"format": "layer-graph/1", "pad": "x" * (2 * 1024 * 1024)}})
    response = api.post("/api/layers", big, content_type="application/json")
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"


@pytest.mark.parametrize("query", [
    "page=abc", "page=-1", "page=0", "page_size=100000", "page=99999999999999999999", "status=%00",
    "ordering=;drop", "after=-5", "after=x", "limit=0", "limit=999999", "x=" + "a" * 5000,
    "rejection_reason=" + "r" * 100,
])
def test_garbage_queries_on_every_get(api, own_objects, query):
    schema = api.get("/api/openapi.json").json()
    for path, ops in schema["paths"].items():
        if "get" not in ops or path.endswith(("bundle.zip", "export.py")):
            continue
        url = path.format(**own_objects) + "?" + query
        _check(api.get(url), url)


def test_unknown_ids_and_wrong_types_in_paths(api):
    for url in ["/api/layers/0", "/api/layers/99999999999999999999", "/api/searches/abc",
                "/api/candidates/-1", "/api/layers/1/versions/x"]:
        response = api.get(url)
        assert response.status_code == 404, url


def test_every_path_param_is_an_integer():
    from webapp.api import api as ninja_api

    schema = ninja_api.get_openapi_schema()
    for path in schema["paths"]:
        for name in re.findall(r"{(\w+)}", path):
            assert name.endswith("_id") or name == "version"


@pytest.mark.parametrize("method, url, status", [
    ("patch", "/api/layers/1", 405), ("get", "/api/layers/validate", 405), ("delete", "/api/searches", 405),
    ("get", "/api/nope", 404), ("get", "/api/layers/", 404), ("post", "/api/searches/1/unknown", 404),
])
def test_unrouted_api_requests_have_the_error_shape(api, method, url, status):
    response = getattr(api, method)(url)
    assert response.status_code == status
    assert set(response.json()["error"]) == {"code", "message", "node", "field"}
