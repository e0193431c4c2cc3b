"""evaluate() end to end on the synthetic set on CPU, rerank, and the result contract."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import NoReturn

import pytest

from search_engine.config import EvalConfig
from search_engine.evaluate import EvalResult, evaluate, rerank
from search_engine.graph import LayerGraph
from search_engine.library import load_reference

TINY = EvalConfig(
    dataset="synthetic",
    architectures=("resnet50", "mobilenetv2"),
    width=0.125,
    depth=0.2,
    steps=40,
    batch_size=32,
    eval_batch_size=256,
    lr=0.05,
    schedule="cosine",
    quality_steps=20,
    # The quality stage runs but cannot reject here: after 20 steps the tiny
    # models may still predict one class; the gate has its own test below.
    quality_threshold=0.0,
    stability_steps=2,
    progress_every=10,
)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def graph(nodes: list[dict], output: str) -> LayerGraph:
    return LayerGraph.from_dict({"format": "layer-graph/1", "nodes": nodes, "output": output})


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bn_relu", "evonorm_s0"])
def test_reference_layers_train_above_chance(name: str) -> None:
    progress: list[dict] = []
    r = evaluate(load_reference(name), TINY, seed=0, device="cpu", progress=progress.append)
    assert r.status == "evaluated", r.message
    assert r.rejection_reason is None
    assert set(r.scores) == set(TINY.architectures)
    assert all(acc > 0.2 for acc in r.scores.values()), r.scores  # chance is 0.1
    assert all(len(c) >= 3 and {"step", "loss", "accuracy"} <= set(c[0]) for c in r.curves.values())
    assert {"probe", "stability", "quality", "train", "total"} <= set(r.timings)
    assert r.device == "cpu"
    stages = [p["stage"] for p in progress]
    assert stages[0] == "probe" and {"stability", "quality", "train"} <= set(stages)
    assert all({"arch", "stage", "step", "total", "loss", "accuracy"} <= set(p) for p in progress)
    # the result travels as JSON
    again = EvalResult.from_dict(json.loads(json.dumps(r.to_dict())))
    assert again == r


def test_same_seed_same_result() -> None:
    cfg = replace(TINY, architectures=("resnet50",), steps=10, quality_steps=0, stability_steps=0)
    a = evaluate(load_reference("bn_relu"), cfg, seed=5, device="cpu")
    b = evaluate(load_reference("bn_relu"), cfg, seed=5, device="cpu")
    assert a.scores == b.scores and a.curves == b.curves


def test_exp_exp_is_rejected_by_the_probe_before_training() -> None:
    g = graph([{"id": "a", "op": "exp", "inputs": ["x"]},
               {"id": "b", "op": "exp", "inputs": ["a"]}], "b")
    r = evaluate(g, TINY, seed=0, device="cpu")
    assert r.status == "rejected" and r.rejection_reason in {"numeric_nan", "numeric_inf"}
    assert r.scores == {} and "train" not in r.timings and "stability" not in r.timings


def test_division_by_instance_mean_is_rejected_as_unstable() -> None:
    g = graph([{"id": "a", "op": "instance_mean", "inputs": ["x"]},
               {"id": "b", "op": "div", "inputs": ["x", "a"]}], "b")
    cfg = replace(TINY, architectures=("resnet50",), stability_steps=40)
    r = evaluate(g, cfg, seed=0, device="cpu")
    assert (r.status, r.rejection_reason) == ("rejected", "unstable"), r.message
    assert "resnet50" in r.message


def test_a_layer_that_does_not_learn_fails_the_quality_gate() -> None:
    # -x passes the probe (finite, not constant); with a 90% gate no layer passes
    # 20 steps, so this checks that the gate is applied and the run stops there.
    g = graph([{"id": "a", "op": "neg", "inputs": ["x"]}], "a")
    cfg = replace(TINY, architectures=("resnet50",), stability_steps=0, quality_threshold=0.9)
    r = evaluate(g, cfg, seed=0, device="cpu")
    assert (r.status, r.rejection_reason) == ("rejected", "low_quality")
    assert r.curves["resnet50"]
    # the gate accuracy is kept (near-misses are ranked by it)
    assert set(r.gate_scores) == {"resnet50"} and 0.0 <= r.gate_scores["resnet50"] < 0.9
    assert EvalResult.from_dict(r.to_dict()).gate_scores == r.gate_scores


@pytest.mark.slow
def test_gate_scores_cover_every_trained_architecture_and_old_results_load() -> None:
    r = evaluate(load_reference("bn_relu"), replace(TINY, steps=25, quality_steps=10),
                 seed=0, device="cpu")
    assert r.status == "evaluated" and set(r.gate_scores) == set(TINY.architectures)
    old = r.to_dict()
    del old["gate_scores"]  # a result stored before the field existed
    assert EvalResult.from_dict(old).gate_scores == {}


def test_errors_become_failed_results(monkeypatch: pytest.MonkeyPatch) -> None:
    import search_engine.evaluate as ev

    def boom(*args: object, **kwargs: object) -> NoReturn:
        raise RuntimeError("shape mismatch in a weird layer")

    monkeypatch.setattr(ev, "build_anchor", boom)
    r = evaluate(load_reference("bn_relu"), TINY, seed=0, device="cpu")
    assert (r.status, r.rejection_reason) == ("failed", "error")
    assert "shape mismatch" in r.message and "total" in r.timings


def test_should_stop_aborts_with_stopped() -> None:
    r = evaluate(load_reference("bn_relu"), TINY, seed=0, device="cpu", should_stop=lambda: True)
    assert (r.status, r.rejection_reason) == ("failed", "stopped")


def test_a_candidate_stopped_after_its_first_anchor_keeps_no_score() -> None:
    """Scores belong to candidates that finished every anchor: one that trained
    the first anchor to the end and was stopped (or rejected) on the second
    must not show the first anchor's score as if it had been scored."""
    second = TINY.architectures[1]
    trained: list[str] = []  # anchors whose quality or training stage reported progress
    r = evaluate(load_reference("bn_relu"), TINY, seed=0, device="cpu",
                 progress=lambda p: p["stage"] in ("quality", "train") and trained.append(p["arch"]),
                 should_stop=lambda: second in trained)
    assert (r.status, r.rejection_reason) == ("failed", "stopped")
    assert TINY.architectures[0] in trained and second in trained
    assert r.scores == {}
    assert set(r.curves) <= set(TINY.architectures)  # how far it got stays visible


def test_rerank_orders_by_mean_over_seeds() -> None:
    cfg = replace(TINY, architectures=("resnet50",))
    dead = graph([{"id": "a", "op": "mul", "inputs": ["x", "zero"]}], "a")  # rejected: scores 0
    ranking = rerank([dead, load_reference("bn_relu")], cfg, seeds=[0, 1], steps=12, device="cpu")
    assert [r["index"] for r in ranking] == [1, 0]
    assert [r["rank"] for r in ranking] == [1, 2]
    best = ranking[0]
    assert len(best["per_seed"]) == 2 and best["mean"] > 0
    assert best["key"] == load_reference("bn_relu").canonical_hash()
    assert ranking[1]["mean"] == 0.0
