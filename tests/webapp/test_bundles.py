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
from webapp.services.searches import search_create

pytestmark = pytest.mark.django_db


def _unzip(data: bytes, folder) -> None:
    zipfile.ZipFile(io.BytesIO(data)).extractall(folder)


def _run_pytest(folders, cwd) -> subprocess.CompletedProcess:
    """One interpreter for several bundles (torch imports once); each bundle's own test_layer.py."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-rA", "-p", "no:cacheprovider", "-p", "no:django",
         "--import-mode=importlib", "--rootdir", str(cwd), *[str(f / "test_layer.py") for f in folders]],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )


@pytest.fixture
def evaluated(user):
    search = make_search(user)
    ids = queued_ids(search)
    run_one(ids[0], result(score=0.8))
    run_one(ids[1], result(score=0.6))
    return Candidate.objects.filter(search=search, status="evaluated").order_by("-mean_score").first()


def _reference_candidate(user, reference: str) -> Candidate:
    search = search_create(owner=user, name=reference, preset="cpu-quick", seed_references=[reference],
                           overrides={"budget": 2, "parallel": 1})
    candidate = Candidate.objects.filter(search=search).order_by("id").first()
    run_one(candidate.pk, result(score=0.7))
    candidate.refresh_from_db()
    return candidate


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
    # The lines that put the layer into a user's model, and the function they call.
    assert "from layer import replace_norm_act\n\nmodel, n = replace_norm_act(model)" in readme
    assert "def replace_norm_act(" in (tmp_path / "layer.py").read_text()


def test_a_rejected_seed_s_model_card_says_what_it_is_and_prints_no_empty_table(user, tmp_path):
    search = search_create(owner=user, name="seeded", preset="cpu-quick", seed_references=["bn_relu"],
                           overrides={"budget": 2, "parallel": 1})
    seed = Candidate.objects.filter(search=search).order_by("id").first()
    run_one(seed.pk, result("rejected", reason="low_quality"))
    seed.refresh_from_db()
    _unzip(candidate_bundle(candidate=seed), tmp_path)
    readme = (tmp_path / "README.md").read_text()
    assert "found by the" not in readme and "evolutionary" not in readme
    assert "A seed layer of the layer lab's search" in readme
    assert "| architecture | accuracy |" not in readme and "(none)" not in readme
    assert "None: this layer was rejected (low_quality), so it has no validation accuracy to report." in readme


def test_a_mutation_child_s_model_card_says_the_search_found_it(evaluated, tmp_path):
    child = Candidate.objects.filter(search=evaluated.search).order_by("id").first()
    Candidate.objects.filter(pk=child.pk).update(mutation="op", parent_id=evaluated.pk)
    child.refresh_from_db()
    _unzip(candidate_bundle(candidate=evaluated), tmp_path / "a")
    assert "| architecture | accuracy |" in (tmp_path / "a" / "README.md").read_text()
    _unzip(candidate_bundle(candidate=child), tmp_path / "b")
    readme = (tmp_path / "b" / "README.md").read_text()
    assert f"found by the layer lab's evolutionary search {child.search_id}" in readme
    assert f"the `op` mutation of candidate {evaluated.pk}" in readme


@pytest.mark.subprocess
def test_bundled_tests_pass_unzipped_and_catch_a_wrong_layer(user, settings, evaluated, tmp_path):
    """Bundles of a found layer, a batch-statistics layer and a group layer pass their own
    tests (the recorded output, gradients, replace_norm_act on a small model); a bundle
    whose recorded output was tampered with fails the output test."""
    settings.LAB_QUOTA_SEARCHES = 10
    bundles = {
        "found": evaluated,
        "evonorm_b0": _reference_candidate(user, "evonorm_b0"),
        "gn_relu": _reference_candidate(user, "gn_relu"),
        "tampered": evaluated,
    }
    for name, candidate in bundles.items():
        _unzip(candidate_bundle(candidate=candidate), tmp_path / name)
    expected = json.loads((tmp_path / "tampered" / "expected.json").read_text())
    expected["output"][0][0][0][0] += 1.0
    (tmp_path / "tampered" / "expected.json").write_text(json.dumps(expected))

    run = _run_pytest([tmp_path / name for name in bundles], tmp_path)
    report = run.stdout + run.stderr
    assert run.returncode == 1, report
    for name in ("found", "evonorm_b0", "gn_relu"):
        assert f"PASSED {name}/test_layer.py::test_matches_recorded_output" in report, report
        assert f"PASSED {name}/test_layer.py::test_backward_gives_parameter_gradients" in report, report
        assert f"PASSED {name}/test_layer.py::test_replace_norm_act_swaps_the_pairs_of_a_model" in report, report
    assert "FAILED tampered/test_layer.py::test_matches_recorded_output" in report, report
    assert "1 failed, 11 passed" in report, report
