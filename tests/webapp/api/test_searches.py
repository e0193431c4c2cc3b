"""Search and candidate endpoints: create with preset and overrides, control, clone, lists, Pareto, events."""

from __future__ import annotations

import io
import zipfile

import pytest

from tests.webapp.helpers import queued_ids, result, run_one
from webapp.models import Search

pytestmark = pytest.mark.django_db


def create(api, **body):
    payload = {"name": "run", "preset": "cpu-quick",
               "overrides": {"budget": 6, "parallel": 2, "population_size": 3, "tournament_size": 2,
                             "rerank_top_k": 2, "rerank_keep": 1},
               "seed": 7, **body}
    r = api.post_json("/api/searches", payload)
    assert r.status_code == 201, r.content
    return r.json()


def test_create_and_read(api):
    s = create(api)
    assert s["status"] == "running" and s["stage"] == "evolution" and s["mode"] == "B"
    assert s["budget"] == 6 and s["seed"] == 7 and s["counts"]["queued"] == 2 and s["counts"]["total"] == 2
    assert s["architectures"] and s["config"]["eval"]["dataset"] == "digits"
    assert s["last_seq"] >= 4 and s["best"] is None
    assert api.get(f"/api/searches/{s['id']}").json()["id"] == s["id"]
    page = api.get("/api/searches").json()
    assert page["count"] == 1 and page["items"][0]["id"] == s["id"] and "config" not in page["items"][0]


def test_detail_shows_the_funnel_in_engine_order(api):
    """The funnel in FUNNEL_KEYS order (the stored jsonb may not be), with what is in flight."""
    from search_engine.evolution import FUNNEL_KEYS

    s = create(api)
    funnel = s["funnel"]
    assert list(funnel) == list(FUNNEL_KEYS)
    assert funnel["in_flight"] == 2 and funnel["evaluated"] == 0
    assert funnel["drawn"] == sum(v for k, v in funnel.items() if k != "drawn")
    row = Search.objects.get(pk=s["id"])
    row.engine_state = {**row.engine_state, "funnel": dict(reversed(list(row.engine_state["funnel"].items())))}
    row.save(update_fields=["engine_state"])
    assert list(api.get(f"/api/searches/{s['id']}").json()["funnel"]) == list(FUNNEL_KEYS)


def test_strategy_is_accepted_recorded_and_shown(api):
    s = create(api, overrides={"budget": 4, "parallel": 2, "strategy": "random"})
    assert s["strategy"] == "random" and s["config"]["strategy"] == "random"
    assert api.get("/api/searches").json()["items"][0]["strategy"] == "random"
    assert create(api)["strategy"] == "evolution"
    r = api.post_json("/api/searches", {"name": "x", "preset": "cpu-quick", "overrides": {"strategy": "genetic"}})
    assert r.status_code == 400 and r.json()["error"]["field"] == "strategy"


def test_presets(api):
    presets = api.get("/api/presets").json()
    assert {"cpu-quick", "paper-b", "paper-s"} <= {p["name"] for p in presets}


@pytest.mark.parametrize("body, code, field", [
    ({"preset": "nope"}, "unknown_preset", "preset"),
    ({"overrides": {"eval": {"steps": "many"}}}, None, "eval.steps"),
    ({"overrides": {"bogus": 1}}, "unknown_key", "bogus"),
    ({"overrides": [1, 2]}, "invalid_request", "overrides"),
    ({"seed": -5}, "invalid_request", "seed"),
    ({"seed_references": ["nothing"]}, "unknown_reference", "seed_references"),
    ({"extra_key": 1}, "invalid_request", "extra_key"),
])
def test_create_errors_are_400_with_code_and_field(api, body, code, field):
    payload = {"name": "x", "preset": "cpu-quick", **body}
    r = api.post_json("/api/searches", payload)
    assert r.status_code == 400, r.content
    err = r.json()["error"]
    if code:
        assert err["code"] == code
    assert err["field"] == field


def test_quota_is_429(api, settings):
    settings.LAB_QUOTA_SEARCHES = 1
    create(api)
    r = api.post_json("/api/searches", {"name": "x", "preset": "cpu-quick"})
    assert r.status_code == 429 and r.json()["error"]["code"] == "quota_exceeded"


def test_control_and_409(api):
    s = create(api)
    r = api.post_json(f"/api/searches/{s['id']}/control", {"action": "pause"})
    assert r.status_code == 200 and r.json()["status"] == "paused"
    r = api.post_json(f"/api/searches/{s['id']}/control", {"action": "pause"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_state"
    assert api.post_json(f"/api/searches/{s['id']}/control", {"action": "resume"}).json()["status"] == "running"
    r = api.post_json(f"/api/searches/{s['id']}/control", {"action": "explode"})
    assert r.status_code == 400 and r.json()["error"]["field"] == "action"
    stopped = api.post_json(f"/api/searches/{s['id']}/control", {"action": "stop"}).json()
    assert (stopped["status"], stopped["reason"]) == ("stopped", "stopped by its owner")
    assert stopped["counts"]["cancelled"] == 2 and stopped["counts"]["failed"] == 0


def _finish_evolution(search_id: int) -> None:
    search = Search.objects.get(pk=search_id)
    score = 0.4
    while True:
        search.refresh_from_db()
        ids = queued_ids(search)
        if not ids:
            return
        score += 0.05
        run_one(ids[0], result(score=score))


def test_candidates_pareto_events_and_clone(api):
    s = create(api)
    _finish_evolution(s["id"])
    page = api.get(f"/api/searches/{s['id']}/candidates?page_size=4").json()
    assert page["count"] == 6 and len(page["items"]) == 4
    scores = [c["mean_score"] for c in page["items"]]
    assert scores == sorted(scores, reverse=True)
    item = page["items"][0]
    assert set(item) >= {"id", "search_id", "canonical_hash", "status", "rejection_reason", "scores", "mean_score",
                         "mode", "formula", "parent_id", "mutation", "attempts", "worker", "created_at",
                         "started_at", "finished_at"}
    created = api.get(f"/api/searches/{s['id']}/candidates?ordering=created&page=2&page_size=4").json()
    assert len(created["items"]) == 2
    assert api.get(f"/api/searches/{s['id']}/candidates?status=queued").json()["count"] == 0
    assert api.get(f"/api/searches/{s['id']}/candidates?status=evaluated").json()["count"] == 6
    r = api.get(f"/api/searches/{s['id']}/candidates?ordering=bogus")
    assert r.status_code == 400 and r.json()["error"]["field"] == "ordering"
    assert api.get(f"/api/searches/{s['id']}/candidates?status=weird").status_code == 400
    assert api.get(f"/api/searches/{s['id']}/candidates?page=0").status_code == 400

    detail = api.get(f"/api/candidates/{item['id']}").json()
    assert detail["document"]["format"] == "layer-graph/1" and detail["curves"] and "lineage" in detail
    every = api.get(f"/api/searches/{s['id']}/candidates?page_size=6").json()["items"]
    child = next((c for c in every if c["parent_id"]), None)
    assert child is not None, "six candidates through a population of four: some are mutation children"
    lineage = api.get(f"/api/candidates/{child['id']}").json()["lineage"]
    assert lineage[0]["id"] == child["parent_id"]

    x, y = s["architectures"][:2]
    pareto = api.get(f"/api/searches/{s['id']}/pareto?x={x}&y={y}").json()
    assert pareto["front"] and len(pareto["points"]) == 6
    assert api.get(f"/api/searches/{s['id']}/pareto?x=vgg").status_code == 400

    ev = api.get(f"/api/searches/{s['id']}/events?after=0&limit=3").json()
    assert [e["seq"] for e in ev["events"]] == [1, 2, 3] and ev["last_seq"] > 3
    tail = api.get(f"/api/searches/{s['id']}/events?after={ev['last_seq'] - 1}").json()
    assert [e["seq"] for e in tail["events"]] == [ev["last_seq"]]

    detail = api.get(f"/api/searches/{s['id']}").json()
    assert detail["stage"] == "rerank" and len(detail["rerank"]) == 2 and detail["best"]["id"]
    assert detail["throughput_per_minute"] is not None

    r = api.post_json(f"/api/searches/{s['id']}/clone", {"name": "again", "budget": 3})
    assert r.status_code == 201, r.content
    clone = r.json()
    assert clone["name"] == "again" and clone["budget"] == 3 and clone["id"] != s["id"]


def test_candidate_export_py(api):
    s = create(api)
    cid = api.get(f"/api/searches/{s['id']}/candidates").json()["items"][0]["id"]
    r = api.get(f"/api/candidates/{cid}/export.py")
    assert r.status_code == 200 and b"class EvolvedNorm" in r.content
    assert r["Content-Disposition"] == f'attachment; filename="run_candidate_{cid}.py"'


def test_bundle_zip_lists_files(api):
    s = create(api)
    _finish_evolution(s["id"])
    cid = api.get(f"/api/searches/{s['id']}/candidates").json()["items"][0]["id"]
    r = api.get(f"/api/candidates/{cid}/bundle.zip")
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    names = set(zipfile.ZipFile(io.BytesIO(r.content)).namelist())
    assert {"layer.py", "graph.json", "metrics.json", "test_layer.py", "README.md"} <= names
    assert r["Content-Disposition"] == f'attachment; filename="run_candidate_{cid}.zip"'


def test_tokens(api, client_for):
    r = api.post_json("/api/tokens", {"name": "script"})
    assert r.status_code == 201
    token = r.json()
    assert token["secret"].startswith("lab_")
    listed = api.get("/api/tokens").json()
    assert [t["id"] for t in listed] == [token["id"]] and "secret" not in listed[0]
    bearer = client_for(None)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token['secret']}"}
    assert bearer.get("/api/me", **auth).json()["username"] == "alice"
    # no CSRF for token clients
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    r = strict.post("/api/tokens", {"name": "x"}, content_type="application/json", **auth)
    assert r.status_code == 201
    assert bearer.get("/api/me", HTTP_AUTHORIZATION="Bearer lab_wrong").status_code == 401
    assert api.delete(f"/api/tokens/{token['id']}").status_code == 204
    assert bearer.get("/api/me", **auth).status_code == 401
