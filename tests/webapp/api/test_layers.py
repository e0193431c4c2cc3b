"""Layer endpoints: create, read, update as versions, restore, validate, numeric check, export."""

from __future__ import annotations

import ast

import pytest

pytestmark = pytest.mark.django_db


def create(api, doc, name="My layer"):
    r = api.post_json("/api/layers", {"name": name, "document": doc})
    assert r.status_code == 201, r.content
    return r.json()


def test_create_read_list(api, s0_doc):
    layer = create(api, s0_doc)
    assert layer["version"] == 1 and layer["mode"] == "S" and len(layer["canonical_hash"]) == 64
    assert "sigmoid" in layer["formula"]
    assert layer["document"] == s0_doc
    got = api.get(f"/api/layers/{layer['id']}").json()
    assert got["id"] == layer["id"]
    page = api.get("/api/layers").json()
    assert page["count"] == 1 and page["items"][0]["id"] == layer["id"]
    assert "document" not in page["items"][0]


def test_update_makes_versions_and_restore(api, s0_doc, b0_doc):
    layer = create(api, s0_doc, "first")
    r = api.put_json(f"/api/layers/{layer['id']}", {"name": "second", "document": b0_doc})
    assert r.status_code == 200 and r.json()["version"] == 2 and r.json()["mode"] == "B"
    versions = api.get(f"/api/layers/{layer['id']}/versions").json()
    assert [v["version"] for v in versions] == [2, 1]
    v1 = api.get(f"/api/layers/{layer['id']}/versions/1").json()
    assert v1["document"] == s0_doc and v1["name"] == "first"
    restored = api.post_json(f"/api/layers/{layer['id']}/versions/1/restore").json()
    assert restored["version"] == 3 and restored["document"] == s0_doc and restored["name"] == "first"
    assert api.get(f"/api/layers/{layer['id']}/versions/9").status_code == 404
    assert api.post_json(f"/api/layers/{layer['id']}/versions/9/restore").status_code == 404


def test_invalid_document_is_400_with_engine_code(api, s0_doc):
    s0_doc["nodes"][0]["op"] = "frobnicate"
    r = api.post_json("/api/layers", {"name": "bad", "document": s0_doc})
    assert r.status_code == 400
    err = r.json()["error"]
    assert err["code"] not in ("invalid_request", "", None)
    assert err["node"] == s0_doc["nodes"][0]["id"]
    assert set(err) == {"code", "message", "node", "field"}


def test_validate_returns_data_for_invalid(api, s0_doc):
    ok = api.post_json("/api/layers/validate", {"document": s0_doc}).json()
    assert ok["valid"] and ok["mode"] == "S" and ok["live_nodes"]
    bad = api.post_json("/api/layers/validate", {"document": {"format": "nope"}})
    assert bad.status_code == 200
    assert bad.json()["valid"] is False and bad.json()["error"]["code"]


def test_numeric_check(api, s0_doc):
    r = api.post_json("/api/layers/numeric-check", {"document": s0_doc})
    assert r.status_code == 200 and set(r.json()) >= {"ok", "issues", "checks"}
    assert api.post_json("/api/layers/numeric-check", {"document": {}}).status_code == 400


def test_export_py_is_python(api, s0_doc):
    layer = create(api, s0_doc)
    r = api.get(f"/api/layers/{layer['id']}/export.py")
    assert r.status_code == 200 and r["Content-Type"].startswith("text/x-python")
    assert "attachment" in r["Content-Disposition"]
    ast.parse(r.content.decode())


def test_export_py_is_named_after_the_layer_as_a_module(api, s0_doc):
    layer = api.post_json("/api/layers", {"name": "My EvoNorm-B0 (try 2)", "document": s0_doc}).json()
    r = api.get(f"/api/layers/{layer['id']}/export.py")
    assert r["Content-Disposition"] == 'attachment; filename="my_evonorm_b0_try_2.py"'


def test_delete(api, s0_doc):
    layer = create(api, s0_doc)
    assert api.delete(f"/api/layers/{layer['id']}").status_code == 204
    assert api.get(f"/api/layers/{layer['id']}").status_code == 404


def test_catalogues(api):
    assert api.get("/api/ops").status_code == 200
    refs = api.get("/api/reference-layers").json()
    assert any(r["slug"] == "evonorm_s0" for r in refs)
    me = api.get("/api/me").json()
    assert me["username"] == "alice"


def test_unauthenticated_is_401(client_for):
    anon = client_for(None)
    r = anon.get("/api/layers")
    assert r.status_code == 401 and r.json()["error"]["code"] == "not_authenticated"


def test_session_writes_need_csrf(user, s0_doc):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    r = client.post("/api/layers", {"name": "x", "document": s0_doc}, content_type="application/json")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    client.get("/")  # sets the csrftoken cookie
    token = client.cookies["csrftoken"].value
    r = client.post("/api/layers", {"name": "x", "document": s0_doc}, content_type="application/json",
                    headers={"X-CSRFToken": token})
    assert r.status_code == 201, r.content


def test_layout_only_save_adds_no_version(api, s0_doc):
    layer = create(api, s0_doc, "S0")
    moved = {**s0_doc, "ui": {"positions": {"vx": [300, 40]}}}
    r = api.put_json(f"/api/layers/{layer['id']}", {"name": "S0", "document": moved})
    assert r.status_code == 200, r.content
    saved = r.json()
    assert saved["layout_only"] is True and saved["version"] == 1 and saved["document"] == moved
    versions = api.get(f"/api/layers/{layer['id']}/versions").json()
    assert [v["version"] for v in versions] == [1]
    assert api.get(f"/api/layers/{layer['id']}/versions/1").json()["document"] == moved
    # A new name is more than layout: a version, and its change says so.
    renamed = api.put_json(f"/api/layers/{layer['id']}", {"name": "S0 renamed", "document": {**moved, "name": "S0 renamed"}})
    assert renamed.json()["layout_only"] is False and renamed.json()["version"] == 2
    v2 = api.get(f"/api/layers/{layer['id']}/versions").json()[0]
    assert v2["changes"]["from_version"] == 1 and v2["changes"]["same_function"] is True
    assert [c["kind"] for c in v2["changes"]["items"]] == ["renamed"]


def test_versions_say_what_changed(api, s0_doc):
    layer = create(api, s0_doc, "S0")
    changed = {**s0_doc, "nodes": [dict(n) for n in s0_doc["nodes"]]}
    by_id = {n["id"]: n for n in changed["nodes"]}
    out_id = s0_doc["output"]
    by_id[out_id]["op"] = "mul"  # div → mul
    changed["nodes"].append({"id": "t", "op": "tanh", "inputs": [out_id]})
    changed["output"] = "t"
    changed["ui"] = {"positions": {"t": [1, 2]}}
    r = api.put_json(f"/api/layers/{layer['id']}", {"name": "S0", "document": changed})
    assert r.json()["layout_only"] is False and r.json()["version"] == 2
    newest, first = api.get(f"/api/layers/{layer['id']}/versions").json()
    assert first["changes"] == {"from_version": None, "same_function": False, "items": []}
    assert newest["changes"]["from_version"] == 1 and newest["changes"]["same_function"] is False
    assert newest["formula"].startswith("tanh(")
    kinds = {(c["kind"], c["node"]) for c in newest["changes"]["items"]}
    assert kinds == {("node_added", "t"), ("op_changed", out_id), ("output_changed", "t")}
    texts = [c["text"] for c in newest["changes"]["items"]]
    assert f"added t = tanh({out_id})" in texts and f"output {out_id} → t" in texts
    one = api.get(f"/api/layers/{layer['id']}/versions/2").json()
    assert one["changes"] == newest["changes"]


def test_validate_warns_about_unused_nodes(api, s0_doc):
    s0_doc["nodes"].append({"id": "loose", "op": "neg", "inputs": ["x"]})
    r = api.post_json("/api/layers/validate", {"document": s0_doc}).json()
    assert r["valid"] is True and r["formula"]
    assert r["warnings"] == [{"code": "unused_node", "node": "loose", "field": None,
                              "message": "loose (neg) is not used by the output: it is neither computed nor exported."}]
