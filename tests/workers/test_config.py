"""The Celery app's reliability options, routes and beat schedule; device resolution and GPU slot plans."""

from __future__ import annotations

import io

import pytest
import torch
from django.conf import settings
from django.core.management import CommandError, call_command

from workers import tasks
from workers.celery_app import app
from workers.devices import Slot, resolve_device, slot_plan


def test_eval_and_control_tasks_are_routed_to_their_queues() -> None:
    routes = app.conf.task_routes
    assert routes["workers.tasks.evaluate_candidate"] == {"queue": "eval"}
    assert routes["workers.tasks.rerank_candidate"] == {"queue": "eval"}
    assert routes["workers.tasks.advance_search"] == {"queue": "control"}
    assert routes["workers.tasks.reap_stale_candidates"] == {"queue": "control"}
    queues = {q.name: q for q in app.conf.task_queues}
    for name in ("eval", "control"):
        # Same shape as a queue Celery creates on the fly for the web app's producer.
        assert queues[name].exchange.name == name and queues[name].routing_key == name


@pytest.mark.parametrize("name", ["evaluate_candidate", "rerank_candidate", "advance_search", "reap_stale_candidates"])
def test_every_task_acks_late_and_is_rejected_when_its_worker_dies(name: str) -> None:
    task = app.tasks[f"workers.tasks.{name}"]
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert task.serializer == "json"
    assert 0 < task.soft_time_limit < task.time_limit < settings.CELERY_BROKER_VISIBILITY_TIMEOUT


def test_worker_options_prefetch_one_and_json_only() -> None:
    assert app.conf.worker_prefetch_multiplier == 1
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.broker_transport_options["visibility_timeout"] > tasks.EVAL_TIME_LIMIT
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is False


def test_beat_runs_the_reaper_every_interval_on_the_control_queue() -> None:
    entry = app.conf.beat_schedule["reap-stale-candidates"]
    assert entry["task"] == "workers.tasks.reap_stale_candidates"
    assert entry["schedule"] == settings.LAB_REAPER_INTERVAL
    assert entry["options"]["queue"] == "control"


def test_device_resolution() -> None:
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="no CUDA device"):
            resolve_device("cuda:0")


def test_slot_plan_pins_each_process_to_one_gpu() -> None:
    plan = slot_plan([0, 2], 2)
    assert [s.name for s in plan] == ["eval-gpu0-s0", "eval-gpu0-s1", "eval-gpu2-s0", "eval-gpu2-s1"]
    env = plan[2].env({"PATH": "/bin"})
    assert env["CUDA_VISIBLE_DEVICES"] == "2" and env["LAB_DEVICE"] == "cuda:0" and env["PATH"] == "/bin"
    cpu = Slot(gpu=None, index=0).env({})
    assert cpu["CUDA_VISIBLE_DEVICES"] == "" and cpu["LAB_DEVICE"] == "cpu"
    with pytest.raises(ValueError):
        slot_plan([0], 0)


def test_gpu_workers_dry_run_prints_one_pinned_worker_per_slot() -> None:
    out = io.StringIO()
    call_command("gpu_workers", "--gpus", "0,1", "--slots-per-gpu", "3", "--dry-run", stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 6
    assert sum("CUDA_VISIBLE_DEVICES='1' LAB_DEVICE=cuda:0" in line for line in lines) == 3
    assert all("-Q eval --concurrency 1" in line for line in lines)
    with pytest.raises(CommandError):
        call_command("gpu_workers", "--gpus", "0,0", "--dry-run", stdout=out)
    with pytest.raises(CommandError):
        call_command("gpu_workers", "--slots-per-gpu", "0", "--dry-run", stdout=out)


@pytest.mark.subprocess
def test_gpu_check_runs_each_slot_in_its_own_pinned_process() -> None:
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "workers.gpu_check", "--cpu-slots", "2"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count(": OK {") == 2 and '"device": "cpu"' in done.stdout
