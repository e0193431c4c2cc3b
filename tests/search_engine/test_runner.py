"""The CLI's search loop: results.json contents, atomic saves, exact resume.

A fake, deterministic evaluator stands in for training here (the loop's
bookkeeping is under test; test_cli.py runs real evaluations end to end).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from search_engine import runner
from search_engine.config import EvalConfig, SearchConfig
from search_engine.graph import LayerGraph
from search_engine.library import load_reference


def fake_evaluate(document: dict, eval_config: dict, seed: int, device, deadline) -> dict:  # noqa: ANN001
    key = LayerGraph.from_dict(document).canonical_hash()
    h = int(key[:12], 16)
    if h % 4 == 0:
        return {"status": "rejected", "rejection_reason": "low_quality", "message": "low",
                "scores": {}, "timings": {"total": 0.0}, "device": "cpu"}
    return {"status": "evaluated", "rejection_reason": None, "message": "",
            "scores": {a: (h >> (4 * i)) % 97 / 97 for i, a in enumerate(eval_config["architectures"])},
            "timings": {"total": 0.0}, "device": "cpu"}


def run_search(*args, **kwargs) -> dict:  # noqa: ANN002, ANN003
    """The runner without the numeric probe screen (these tests fake evaluation)."""
    return runner.run_search(*args, probe=False, **kwargs)


@pytest.fixture(autouse=True)
def _fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "evaluate_document", fake_evaluate)


def config(**kw) -> SearchConfig:  # noqa: ANN003
    base = dict(population_size=8, tournament_size=3, budget=40, initial_nodes=3, max_nodes=8,
                eval=EvalConfig(dataset="synthetic", architectures=("resnet50", "mobilenetv2")))
    base.update(kw)
    return SearchConfig(**base)


def test_results_document_schema(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    seeds = [load_reference("evonorm_b0")]
    doc = run_search(config(), 3, out_path=out, seed_graphs=seeds)
    assert json.loads(out.read_text()) == doc
    assert doc["format"] == runner.RESULTS_FORMAT and doc["seed"] == 3
    assert doc["config"] == config().to_dict() and doc["finished"] is True
    cands = doc["candidates"]
    assert len(cands) == 40 == len({c["key"] for c in cands})
    assert cands[0]["mutation"] == "seed" and cands[0]["parent"] is None
    for c in cands:
        assert LayerGraph.from_dict(c["document"]).canonical_hash() == c["key"]
        assert c["status"] in ("evaluated", "rejected")
        assert (c["rejection_reason"] is None) == (c["status"] == "evaluated")
        if c["parent"] is not None:
            assert c["tournament"]["winner"] == c["parent"]
    evaluated = {c["key"] for c in cands if c["status"] == "evaluated"}
    assert set(doc["pareto_front"]) <= evaluated
    assert not (tmp_path / "results.json.tmp").exists()


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path: Path) -> None:
    whole = run_search(config(), 4, out_path=tmp_path / "a.json")

    def interrupt(event: dict) -> None:
        if event["told"] == 17:
            raise KeyboardInterrupt

    out = tmp_path / "b.json"
    with pytest.raises(KeyboardInterrupt):
        run_search(config(), 4, out_path=out, progress=interrupt)
    assert len(json.loads(out.read_text())["candidates"]) == 17
    resumed = run_search(config(), 4, out_path=out, resume=True)
    strip = lambda d: {k: v for k, v in d.items() if k != "elapsed_seconds"}  # noqa: E731
    assert strip(resumed) == strip(whole)


def test_resume_refuses_another_config(tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    run_search(config(budget=5), 1, out_path=out)
    with pytest.raises(runner.ResultsFileError):
        run_search(config(budget=6), 1, out_path=out, resume=True)
    with pytest.raises(runner.ResultsFileError):
        run_search(config(budget=5), 2, out_path=out, resume=True)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(runner.ResultsFileError):
        run_search(config(), 1, out_path=tmp_path / "bad.json", resume=True)


def test_wall_clock_stop_leaves_cut_off_work_in_flight(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    calls = {"n": 0}

    def slow_then_stopped(document, eval_config, seed, device, deadline):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] > 5:  # as if the deadline passed during the sixth evaluation
            return {"status": "failed", "rejection_reason": "stopped", "scores": {}}
        return fake_evaluate(document, eval_config, seed, device, deadline)

    monkeypatch.setattr(runner, "evaluate_document", slow_then_stopped)
    out = tmp_path / "w.json"
    doc = run_search(config(max_wall_seconds=3600.0), 1, out_path=out)
    assert len(doc["candidates"]) == 5 and doc["finished"] is False
    assert doc["stopped_reason"] == "max_wall_seconds"
    assert len(doc["state"]["in_flight"]) == 1
    monkeypatch.setattr(runner, "evaluate_document", fake_evaluate)
    done = run_search(config(max_wall_seconds=3600.0), 1, out_path=out, resume=True)
    assert done["finished"] and len(done["candidates"]) == 40


def test_non_finite_numbers_become_null(tmp_path: Path) -> None:
    runner.write_atomic(tmp_path / "n.json", {"a": float("nan"), "b": [float("inf"), 1.0]})
    assert json.loads((tmp_path / "n.json").read_text()) == {"a": None, "b": [None, 1.0]}


def test_the_probe_screens_layers_before_they_cost_budget(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    """With the probe on, every evaluated layer passed the probe at the search's
    seed, and the results file carries the funnel: refused layers are counted
    but cost no budget."""
    from search_engine.rejection import probe_verdict

    seen: list[dict] = []

    def recording(document, eval_config, seed, device, deadline):  # noqa: ANN001, ANN202
        seen.append(document)
        assert seed == 5
        return fake_evaluate(document, eval_config, seed, device, deadline)

    monkeypatch.setattr(runner, "evaluate_document", recording)
    doc = runner.run_search(config(budget=12), 5, out_path=tmp_path / "p.json")
    assert len(seen) == 12
    assert all(probe_verdict(LayerGraph.from_dict(d), seed=5).passed for d in seen)
    funnel = doc["funnel"]
    assert funnel["refused_probe"] > 0 and funnel["in_flight"] == 0
    assert funnel["drawn"] == sum(v for k, v in funnel.items() if k != "drawn")
    assert funnel["drawn"] - funnel["refused_static"] - funnel["refused_probe"] == 12
