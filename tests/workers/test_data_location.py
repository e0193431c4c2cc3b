"""Issue 11, item 1 on the worker's side: the host's data folder always, and failures in plain words."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from search_engine.graph import LayerGraph
from tests.workers.conftest import FakeEngine, Progress, StopCheck
from webapp.services.candidates import EvaluationJob
from workers import tasks


def _job(eval_config: dict) -> EvaluationJob:
    from search_engine.library import load_reference
    from search_engine.presets import get_preset

    config = get_preset("cpu-quick").eval.to_dict()
    return EvaluationJob(candidate_id=7, attempt=1, document=load_reference("evonorm_s0").to_dict(),
                         eval_config={**config, **eval_config}, seed=1, search_id=1)


def test_a_stored_data_dir_is_ignored_for_the_hosts(engine: FakeEngine) -> None:
    tasks.run_evaluation(_job({"data_dir": "/tmp/planted"}), device="cpu", should_stop=lambda: False,
                         progress=lambda p: None)
    assert engine.data_dirs == [str(settings.LAB_DATA_DIR)]


def test_an_engine_exception_reaches_the_log_not_the_user(engine: FakeEngine, caplog: pytest.LogCaptureFixture) -> None:
    def explode(graph: LayerGraph, should_stop: StopCheck, progress: Progress) -> dict:
        raise TypeError("secret detail at /srv/layerlab/app/search_engine/datasets.py")

    engine.behaviour = explode
    with caplog.at_level(logging.ERROR, logger="workers.tasks"):
        result = tasks.run_evaluation(_job({}), device="cpu", should_stop=lambda: False, progress=lambda p: None)
    assert result["status"] == "failed" and result["rejection_reason"] == "error"
    assert result["message"].startswith("TypeError: secret detail")
    assert "Traceback" not in result["message"] and "tasks.py" not in result["message"]
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "candidate 7" in logged and "secret detail" in caplog.text and "Traceback" in caplog.text


@pytest.mark.django_db
def test_engine_failure_messages_name_no_source_location() -> None:
    """``evaluate`` catches what a candidate raises; its message names no file or line."""
    from search_engine.evaluate import evaluate
    from search_engine.library import load_reference
    from search_engine.presets import get_preset

    config = get_preset("cpu-quick").eval
    bad = type(config).from_dict({**config.to_dict(), "dataset": "synthetic", "train_examples": 8,
                                  "val_examples": 8, "steps": 2, "quality_steps": 1, "stability_steps": 0})

    def boom(_update: dict) -> None:
        raise RuntimeError("shapes do not match")

    result = evaluate(load_reference("evonorm_s0"), bad, seed=0, device="cpu", progress=boom)
    assert result.status == "failed" and result.rejection_reason == "error"
    assert result.message == "RuntimeError: shapes do not match"
