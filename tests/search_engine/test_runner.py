"""The CLI's search loop: results.json contents, atomic saves, exact resume.

A fake, deterministic evaluator stands in for training here (the loop's
bookkeeping is under test; test_cli.py runs real evaluations end to end).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from search_engine import runner
from search_engine.config import EvalConfig, SearchConfig
from search_engine.graph import LayerGraph
from search_engine.library import load_reference
from search_engine.results_file import events_path, load_candidates, read_events


def fake_evaluate(document: dict, eval_config: dict, seed: int, device: str | None, deadline: float | None) -> dict:
    key = LayerGraph.from_dict(document).canonical_hash()
    h = int(key[:12], 16)
    if h % 4 == 0:
        return {"status": "rejected", "rejection_reason": "low_quality", "message": "low",
                "scores": {}, "timings": {"total": 0.0}, "device": "cpu"}
    return {"status": "evaluated", "rejection_reason": None, "message": "",
            "scores": {a: (h >> (4 * i)) % 97 / 97 for i, a in enumerate(eval_config["architectures"])},
            "timings": {"total": 0.0}, "device": "cpu"}


def run_search(*args: Any, **kwargs: Any) -> dict:
    """The runner without the numeric probe screen (these tests fake evaluation)."""
    return runner.run_search(*args, probe=False, **kwargs)


@pytest.fixture(autouse=True)
def _fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "evaluate_document", fake_evaluate)


def config(**kw: Any) -> SearchConfig:
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
    assert doc["funnel"]["drawn"] >= 40 and doc["funnel"]["in_flight"] == 0
    assert all(c["elapsed"] >= 0 and c["cpu"] >= 0 for c in cands)


def strip_clocks(doc: dict) -> dict:
    """A results document without its wall and CPU times (they differ run to run)."""
    clocks = ("elapsed", "cpu", "elapsed_seconds", "cpu_seconds", "events_file")
    out = {k: v for k, v in doc.items() if k not in clocks}
    if "candidates" in out:
        out["candidates"] = [{k: v for k, v in c.items() if k not in clocks}
                             for c in out["candidates"]]
    return out


@pytest.mark.parametrize("kill_at", [1, 17, 33])
def test_killed_then_resumed_equals_uninterrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kill_at: int) -> None:
    """Killed at any point (here: between results, and with the checkpoint far
    behind the log), a resumed run ends exactly like an uninterrupted one."""
    monkeypatch.setattr(runner, "CHECKPOINT_EVERY", 7)
    whole = run_search(config(), 4, out_path=tmp_path / "a.json")

    def interrupt(event: dict) -> None:
        if event["told"] == kill_at:
            raise KeyboardInterrupt

    out = tmp_path / "b.json"
    with pytest.raises(KeyboardInterrupt):
        run_search(config(), 4, out_path=out, progress=interrupt)
    assert len(load_candidates(out)) == kill_at
    assert json.loads(out.read_text())["events"] < len(read_events(out))  # replay needed
    resumed = run_search(config(), 4, out_path=out, resume=True)
    assert strip_clocks(resumed) == strip_clocks(whole)
    assert read_events(out) == read_events(tmp_path / "a.json") or all(
        strip_clocks(a) == strip_clocks(b)
        for a, b in zip(read_events(out), read_events(tmp_path / "a.json"), strict=True))


def test_a_torn_last_line_is_dropped_on_resume(tmp_path: Path) -> None:
    """A kill in mid-write leaves half a line: resume drops it and redoes that step."""
    whole = run_search(config(), 4, out_path=tmp_path / "a.json")

    def interrupt(event: dict) -> None:
        if event["told"] == 20:
            raise KeyboardInterrupt

    out = tmp_path / "b.json"
    with pytest.raises(KeyboardInterrupt):
        run_search(config(), 4, out_path=out, progress=interrupt)
    log = events_path(out)
    text = log.read_text()
    log.write_text(text[: len(text) - 40])  # the last event loses its end
    resumed = run_search(config(), 4, out_path=out, resume=True)
    assert strip_clocks(resumed) == strip_clocks(whole)


def test_screen_verdicts_are_logged_and_not_probed_again_on_resume(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With the probe on, each verdict is logged once; a resumed run replays them
    from the log instead of probing again, and ends like an uninterrupted run."""
    from search_engine import rejection

    probed: list[str] = []
    real = rejection.probe_screen

    def counting_screen(seed: int) -> Callable[[LayerGraph], str | None]:
        screen = real(seed)

        def wrapped(graph: LayerGraph) -> str | None:
            probed.append(graph.canonical_hash())
            return screen(graph)
        return wrapped

    monkeypatch.setattr(rejection, "probe_screen", counting_screen)
    whole = runner.run_search(config(budget=10), 2, out_path=tmp_path / "a.json")
    assert len(probed) == len(set(probed))  # a layer drawn twice is probed once
    logged = {k for e in read_events(tmp_path / "a.json") if e["event"] == "ask"
              for k in e["screened"]}
    assert logged == set(probed)

    def interrupt(event: dict) -> None:
        if event["told"] == 6:
            raise KeyboardInterrupt

    out = tmp_path / "b.json"
    with pytest.raises(KeyboardInterrupt):
        runner.run_search(config(budget=10), 2, out_path=out, progress=interrupt)
    before = {k for e in read_events(out) if e["event"] == "ask" for k in e["screened"]}
    probed.clear()
    resumed = runner.run_search(config(budget=10), 2, out_path=out, resume=True)
    assert before and not before & set(probed)
    assert strip_clocks(resumed) == strip_clocks(whole)


def test_file_cost_grows_linearly(tmp_path: Path) -> None:
    """The summary written during a search does not grow with it (the candidates
    go to the append-only log); only the final one lists them."""
    sizes: list[int] = []
    out = tmp_path / "s.json"

    def size(event: dict) -> None:
        sizes.append(out.stat().st_size)

    doc = run_search(config(budget=120, population_size=5), 1, out_path=out, progress=size)
    assert max(sizes) < 3 * sizes[0] + 20_000
    assert len(doc["candidates"]) == 120 and doc["candidates"] == load_candidates(out)


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


def test_wall_clock_stop_leaves_cut_off_work_in_flight(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"n": 0}

    def slow_then_stopped(document: dict, eval_config: dict, seed: int, device: str | None, deadline: float | None) -> dict:
        calls["n"] += 1
        if calls["n"] > 5:  # as if the deadline passed during the sixth evaluation
            return {"status": "failed", "rejection_reason": "stopped", "scores": {}}
        return fake_evaluate(document, eval_config, seed, device, deadline)

    monkeypatch.setattr(runner, "evaluate_document", slow_then_stopped)
    out = tmp_path / "w.json"
    doc = run_search(config(max_wall_seconds=3600.0), 1, out_path=out)
    assert len(doc["candidates"]) == 5 and doc["finished"] is False
    assert doc["stopped_reason"] == "max_wall_seconds"
    assert len(doc["state"]["in_flight"]) == 1 and doc["stopped_reason"] == "max_wall_seconds"
    monkeypatch.setattr(runner, "evaluate_document", fake_evaluate)
    done = run_search(config(max_wall_seconds=3600.0), 1, out_path=out, resume=True)
    assert done["finished"] and len(done["candidates"]) == 40


def test_non_finite_numbers_become_null(tmp_path: Path) -> None:
    runner.write_atomic(tmp_path / "n.json", {"a": float("nan"), "b": [float("inf"), 1.0]})
    assert json.loads((tmp_path / "n.json").read_text()) == {"a": None, "b": [None, 1.0]}


def test_the_probe_screens_layers_before_they_cost_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the probe on, every evaluated layer passed the probe at the search's
    seed, and the results file carries the funnel: refused layers are counted
    but cost no budget."""
    from search_engine.rejection import probe_verdict

    seen: list[dict] = []

    def recording(document: dict, eval_config: dict, seed: int, device: str | None, deadline: float | None) -> dict:
        seen.append(document)
        assert seed == 5
        return fake_evaluate(document, eval_config, seed, device, deadline)

    monkeypatch.setattr(runner, "evaluate_document", recording)
    doc = runner.run_search(config(budget=30), 5, out_path=tmp_path / "p.json")
    assert len(seen) == 30
    assert all(probe_verdict(LayerGraph.from_dict(d), seed=5).passed for d in seen)
    funnel = doc["funnel"]
    assert funnel["refused_probe"] > 0 and funnel["in_flight"] == 0
    assert funnel["drawn"] == sum(v for k, v in funnel.items() if k != "drawn")
    assert funnel["drawn"] - funnel["refused_static"] - funnel["refused_probe"] == 30
