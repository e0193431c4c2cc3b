"""EvalConfig / SearchConfig: round trips, strict validation, error fields."""

from __future__ import annotations

import json

import pytest

from search_engine.config import ConfigError, EvalConfig, SearchConfig, deep_merge


def test_round_trip_through_json() -> None:
    cfg = SearchConfig(eval=EvalConfig(dataset="digits", architectures=("resnet50",), steps=10,
                                       quality_steps=5))
    again = SearchConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert again.eval.architectures == ("resnet50",)


def test_warmup_steps_round_trips_and_defaults_to_zero_when_absent() -> None:
    cfg = EvalConfig(steps=100, quality_steps=10, warmup_steps=25)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["warmup_steps"] == 25 and EvalConfig.from_dict(d) == cfg
    # A stored config written before the field existed has no key: it loads as 0.
    del d["warmup_steps"]
    assert EvalConfig.from_dict(d).warmup_steps == 0
    old = SearchConfig().to_dict()
    del old["eval"]["warmup_steps"]
    assert SearchConfig.from_dict(old).eval.warmup_steps == 0


def test_grad_clip_round_trips_and_defaults_to_none_when_absent() -> None:
    cfg = EvalConfig(grad_clip=1.0)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["grad_clip"] == 1.0 and EvalConfig.from_dict(d) == cfg
    del d["grad_clip"]
    assert EvalConfig.from_dict(d).grad_clip is None


def test_strategy_and_bootstrap_round_trip_and_default_when_absent() -> None:
    cfg = SearchConfig(strategy="random", bootstrap=False)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert (d["strategy"], d["bootstrap"]) == ("random", False)
    assert SearchConfig.from_dict(d) == cfg
    # a stored config written before the fields existed: evolution, with bootstrap
    del d["strategy"], d["bootstrap"]
    old = SearchConfig.from_dict(d)
    assert (old.strategy, old.bootstrap) == ("evolution", True)


def test_image_size_and_branch_init_round_trip_and_default_to_the_papers() -> None:
    cfg = EvalConfig(image_size=16, branch_init=0.5)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert EvalConfig.from_dict(d) == cfg
    del d["image_size"], d["branch_init"]
    old = EvalConfig.from_dict(d)
    assert old.image_size == 32 and old.branch_init == 0.0


def test_missing_keys_take_defaults() -> None:
    cfg = SearchConfig.from_dict({"mode": "S", "eval": {"dataset": "synthetic"}})
    assert cfg.mode == "S" and cfg.eval.dataset == "synthetic" and cfg.eval.lr == 0.1


@pytest.mark.parametrize(
    ("doc", "code", "field"),
    [
        ({"modee": "B"}, "unknown_key", "modee"),
        ({"eval": {"stepz": 3}}, "unknown_key", "eval.stepz"),
        ({"eval": {"steps": 0}}, "bad_value", "eval.steps"),
        ({"eval": {"steps": True}}, "bad_value", "eval.steps"),
        ({"eval": {"steps": 10.5}}, "bad_value", "eval.steps"),
        ({"eval": {"lr": float("nan")}}, "bad_value", "eval.lr"),
        ({"eval": {"dataset": "imagenet"}}, "bad_value", "eval.dataset"),
        ({"eval": {"architectures": []}}, "bad_value", "eval.architectures"),
        ({"eval": {"architectures": ["vgg"]}}, "bad_value", "eval.architectures"),
        ({"eval": {"architectures": "resnet50"}}, "bad_value", "eval.architectures"),
        ({"eval": {"schedule": "linear"}}, "bad_value", "eval.schedule"),
        ({"eval": {"quality_threshold": 1.5}}, "bad_value", "eval.quality_threshold"),
        ({"eval": {"steps": 50, "quality_steps": 100}}, "bad_value", "eval.quality_steps"),
        ({"eval": {"warmup_steps": -1}}, "bad_value", "eval.warmup_steps"),
        ({"eval": {"steps": 50, "quality_steps": 10, "warmup_steps": 50}}, "bad_value",
         "eval.warmup_steps"),
        ({"eval": {"steps": 50, "quality_steps": 10, "warmup_steps": 80}}, "bad_value",
         "eval.warmup_steps"),
        ({"eval": {"warmup_steps": 2.5}}, "bad_value", "eval.warmup_steps"),
        ({"rerank_steps": 20, "eval": {"warmup_steps": 20}}, "bad_value", "rerank_steps"),
        ({"eval": {"grad_clip": 0}}, "bad_value", "eval.grad_clip"),
        ({"eval": {"grad_clip": -1.0}}, "bad_value", "eval.grad_clip"),
        ({"eval": {"grad_clip": True}}, "bad_value", "eval.grad_clip"),
        ({"eval": {"grad_clip": "1"}}, "bad_value", "eval.grad_clip"),
        ({"eval": {"grad_clip": float("inf")}}, "bad_value", "eval.grad_clip"),
        ({"eval": {"image_size": 18}}, "bad_value", "eval.image_size"),
        ({"eval": {"image_size": 4}}, "bad_value", "eval.image_size"),
        ({"eval": {"image_size": 36}}, "bad_value", "eval.image_size"),
        ({"eval": {"image_size": 16.0}}, "bad_value", "eval.image_size"),
        ({"eval": {"branch_init": -0.1}}, "bad_value", "eval.branch_init"),
        ({"eval": {"branch_init": 2}}, "bad_value", "eval.branch_init"),
        ({"mode": "X"}, "bad_value", "mode"),
        ({"strategy": "annealing"}, "bad_value", "strategy"),
        ({"strategy": None}, "bad_value", "strategy"),
        ({"bootstrap": "yes"}, "bad_value", "bootstrap"),
        ({"bootstrap": 1}, "bad_value", "bootstrap"),
        ({"population_size": 10, "tournament_size": 11}, "bad_value", "tournament_size"),
        ({"initial_nodes": 8, "max_nodes": 4}, "bad_value", "max_nodes"),
        ({"max_wall_seconds": -1}, "bad_value", "max_wall_seconds"),
        ({"eval": 3}, "bad_value", "eval"),
    ],
)
def test_bad_documents_name_the_field(doc: dict, code: str, field: str) -> None:
    with pytest.raises(ConfigError) as info:
        SearchConfig.from_dict(doc)
    assert info.value.code == code
    assert info.value.field == field
    assert field.split(".")[-1] in str(info.value)


def test_quality_gate_is_twice_chance_unless_set() -> None:
    assert EvalConfig().quality_gate(10) == pytest.approx(0.2)
    assert EvalConfig().quality_gate(4) == pytest.approx(0.5)
    assert EvalConfig(quality_threshold=0.3).quality_gate(10) == 0.3


def test_deep_merge_keeps_siblings_and_rejects_unknown() -> None:
    base = {"a": 1, "eval": {"b": 2, "c": 3}}
    assert deep_merge(base, {"eval": {"b": 5}}) == {"a": 1, "eval": {"b": 5, "c": 3}}
    with pytest.raises(ConfigError) as info:
        deep_merge(base, {"eval": {"zz": 1}})
    assert info.value.field == "eval.zz"
