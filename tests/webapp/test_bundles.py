"""The export bundle for real: unzip it and run its own test_layer.py with pytest in a subprocess."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import zipfile

import pytest

from tests.webapp.helpers import make_search, queued_ids, result, run_one
from webapp.models import Candidate
from webapp.services.bundles import candidate_bundle

pytestmark = pytest.mark.django_db


def _unzip(data: bytes, folder) -> None:
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)


def _run_pytest(folder) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:django", "--rootdir", str(folder),
         str(folder / "test_layer.py")],
        cwd=folder, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture
def evaluated(user):
    search = make_search(user)
    ids = queued_ids(search)
    run_one(ids[0], result(score=0.8))
    run_one(ids[1], result(score=0.6))
    return Candidate.objects.filter(search=search, status="evaluated").order_by("-mean_score").first()


def test_bundle_contents(evaluated, tmp_path):
    _unzip(candidate_bundle(candidate=evaluated), tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {
        "layer.py", "graph.json", "metrics.json", "expected.json", "test_layer.py", "README.md"}
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["seed"] == 1 and metrics["config"]["budget"] == 8
    assert metrics["scores"] == evaluated.scores and set(metrics["curves"]) == set(evaluated.scores)
    assert isinstance(metrics["lineage"], list)
    assert json.loads((tmp_path / "graph.json").read_text()) == evaluated.document
    readme = (tmp_path / "README.md").read_text()
    assert evaluated.canonical_hash in readme and evaluated.formula in readme


def test_bundled_test_passes_in_unzipped_folder(evaluated, tmp_path):
    _unzip(candidate_bundle(candidate=evaluated), tmp_path)
    run = _run_pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout


def test_bundled_test_catches_a_wrong_layer(evaluated, tmp_path):
    _unzip(candidate_bundle(candidate=evaluated), tmp_path)
    expected = json.loads((tmp_path / "expected.json").read_text())
    expected["output"][0][0][0][0] += 1.0
    (tmp_path / "expected.json").write_text(json.dumps(expected))
    run = _run_pytest(tmp_path)
    assert run.returncode != 0


@pytest.mark.parametrize("reference", ["evonorm_b0", "gn_relu"])  # batch stats; groups
def test_bundle_for_reference_layers(user, reference, tmp_path):
    from webapp.services.searches import search_create

    search = search_create(owner=user, name="r", preset="cpu-quick", seed_references=[reference],
                           overrides={"budget": 2, "parallel": 1})
    candidate = Candidate.objects.filter(search=search).order_by("id").first()
    run_one(candidate.pk, result(score=0.7))
    candidate.refresh_from_db()
    _unzip(candidate_bundle(candidate=candidate), tmp_path)
    run = _run_pytest(tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
