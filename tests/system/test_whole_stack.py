"""The whole application as the README starts it: sign up, make a layer, search, follow live, download.

``lab_factory`` runs ``python manage.py lab`` (embedded Redis or REDIS_URL,
migrations, daphne, the workers, beat) in a subprocess, a lab of this test's
own so no other test's search shares its one evaluation worker; everything
below goes through HTTP and the websocket only, as a browser would.
"""

from __future__ import annotations

import importlib.util
import io
import json
import sys
import types
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from tests.support.lab_server import LabServer
from tests.system.helpers import (
    EventFollower,
    assert_consistent,
    launch,
    replay,
    tiny_overrides,
    wait_for,
)

pytestmark = [pytest.mark.system, pytest.mark.slow]


def _import_layer(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"downloaded_layer_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _layer_class(module: types.ModuleType) -> type[torch.nn.Module]:
    classes = [v for v in vars(module).values()
               if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == module.__name__]
    assert classes, f"no nn.Module in {module.__file__}"
    return classes[0]


def test_sign_up_design_search_follow_and_download(lab_factory: Callable[..., LabServer], tmp_path: Path) -> None:
    lab_server = lab_factory()
    user = lab_server.signup(lab_server.unique_name("ada"), "a-long-enough-password")
    http = lab_server.client(user)

    # A layer of one's own, from the reference catalogue's document.
    catalogue = http.get("/api/reference-layers").json()
    reference = next(r for r in catalogue if r["mode"] == "B")
    created = http.post("/api/layers", json={"name": "my first layer", "document": reference["document"]})
    assert created.status_code == 201, created.text
    layer = created.json()

    search = launch(http, name="whole stack", overrides=tiny_overrides(
        budget=5, rerank_top_k=1, rerank_keep=1, rerank_seeds=1, rerank_steps=6), seed_layer_ids=[layer["id"]])
    follower = EventFollower(lab_server, http, search["id"])
    follower.start()
    try:
        wait_for(follower.done.is_set, timeout=300, what="the search to finish over the websocket", lab=lab_server)
    finally:
        follower.stop()

    final = follower.events[-1]
    assert final["type"] == "search.status" and final["payload"]["status"] == "finished", final
    types = [e["type"] for e in follower.events]
    # the budget counts candidates that reach training: an unstable one gives its slot back
    unstable = sum(e["type"] == "candidate.finished" and e["payload"]["candidate"].get("rejection_reason") == "unstable"
                   for e in follower.events)
    assert types.count("candidate.created") == 5 + unstable == types.count("candidate.finished")
    assert "population.changed" in types and "rerank.finished" in types
    assert follower.progress > 0, "no live progress arrived"
    state = assert_consistent(http, search["id"], follower)
    again = replay(lab_server, http, search["id"], until_seq=state["detail"]["last_seq"])
    assert [e["seq"] for e in again] == [e["seq"] for e in state["events"]]

    # The seed layer was evaluated as the first candidate, and the best can be taken home.
    assert state["candidates"][0]["canonical_hash"] == layer["canonical_hash"] or any(
        c["canonical_hash"] == layer["canonical_hash"] for c in state["candidates"])
    best = state["detail"]["best"]
    assert best is not None, state["detail"]
    bundle = http.get(f"/api/candidates/{best['id']}/bundle.zip")
    assert bundle.status_code == 200 and bundle.headers["content-type"].startswith("application/zip")
    with zipfile.ZipFile(io.BytesIO(bundle.content)) as archive:
        names = set(archive.namelist())
        archive.extractall(tmp_path)
    files = {Path(n).name: tmp_path / n for n in names}
    assert {"layer.py", "graph.json", "metrics.json", "test_layer.py", "README.md"} <= set(files)
    metrics = json.loads(files["metrics.json"].read_text())
    assert metrics  # scores of the run travel with the layer

    layer_cls = _layer_class(_import_layer(files["layer.py"]))
    module = layer_cls(8)
    out = module(torch.randn(4, 8, 6, 6))
    assert out.shape == (4, 8, 6, 6) and torch.isfinite(out).all()
    http.close()
