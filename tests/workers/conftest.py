"""Fixtures of the worker tests: the real Redis of the settings and a real Celery worker in-process.

The worker (``celery.contrib.testing.worker.start_worker``) consumes both
queues from the real broker in a thread of the test process, against the
test database, so a test can replace the engine's ``evaluate`` and watch
the tasks through Celery's signals. Killing a worker process mid-task is
tested in ``tests/system`` (separate processes).
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
from celery import Task
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from pytest_django.fixtures import Settings as SettingsWrapper

from search_engine.config import EvalConfig
from search_engine.graph import LayerGraph

# What the fake engine's ``behaviour(graph, should_stop, progress)`` is given.
StopCheck = Callable[[], bool]
Progress = Callable[[dict], None]


@pytest.fixture(scope="session")
def broker(settings_redis: None) -> None:
    """The Redis the settings name (``tests/conftest.py``'s ``settings_redis``), as the broker."""


class Finished:
    """Counts tasks the worker finished, by name: ``wait(name, n)`` blocks until ``n`` ran."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self._cond = threading.Condition()

    def __call__(self, sender: object = None, task: Task | None = None, **kwargs: object) -> None:
        with self._cond:
            self.counts[task.name] = self.counts.get(task.name, 0) + 1
            self._cond.notify_all()

    def count(self, name: str) -> int:
        return self.counts.get(f"workers.tasks.{name}", 0)

    def wait(self, name: str, n: int, timeout: float = 60) -> None:
        with self._cond:
            ok = self._cond.wait_for(lambda: self.count(name) >= n, timeout)
        assert ok, f"only {self.count(name)} of {n} {name} tasks finished: {self.counts}"


@contextlib.contextmanager
def real_worker() -> Iterator[Finished]:
    """A real Celery worker on both queues, in a thread; the queues are purged before and after."""
    from workers.celery_app import app

    app.control.purge()
    finished = Finished()
    task_postrun.connect(finished, weak=False)
    task_postrun.connect(close_worker_connections, weak=False)
    try:
        with start_worker(app, pool="solo", concurrency=1, perform_ping_check=False,
                          queues=["eval", "control"], shutdown_timeout=30, loglevel="WARNING"):
            yield finished
    finally:
        task_postrun.disconnect(finished)
        task_postrun.disconnect(close_worker_connections)
        app.control.purge()


@pytest.fixture
def celery_worker(broker: None, transactional_db: None, settings: SettingsWrapper) -> Iterator[Finished]:
    """``real_worker()`` for the length of a test, with a quick heartbeat."""
    settings.LAB_HEARTBEAT_SECONDS = 0.2
    with real_worker() as finished:
        yield finished


def close_worker_connections(**kwargs: object) -> None:
    """Runs in the worker thread after each task: leave no connection that would block dropping the test DB."""
    from django.db import connections

    connections.close_all()


@dataclass
class FakeResult:
    data: dict

    def to_dict(self) -> dict:
        return dict(self.data)


def evaluated(score: float = 0.5) -> dict:
    archs = ("resnet50", "mobilenetv2", "efficientnet_b0")
    return {"status": "evaluated", "rejection_reason": None, "message": "",
            "scores": {a: score + 0.01 * i for i, a in enumerate(archs)},
            "curves": {a: [{"step": 1, "loss": 1.0, "accuracy": score}] for a in archs},
            "timings": {"total": 0.1}, "device": "cpu"}


@dataclass
class FakeEngine:
    """Stands in for ``search_engine.evaluate``; ``behaviour(graph, should_stop, progress)`` → result dict."""

    behaviour: Callable[..., dict] = lambda graph, should_stop, progress: evaluated()  # noqa: E731
    calls: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    data_dirs: list[str | None] = field(default_factory=list)

    def evaluate(self, graph: LayerGraph, config: EvalConfig, *, seed: int, device: str | None = None,
                 progress: Progress | None = None, should_stop: StopCheck | None = None) -> FakeResult:
        self.calls.append(graph.canonical_hash())
        self.devices.append(device)
        self.data_dirs.append(config.data_dir)
        return FakeResult(self.behaviour(graph, should_stop, progress))

    def rerank(self, graphs: list[LayerGraph], config: EvalConfig, *, seeds: list[int], steps: int,
               device: str | None = None, progress: Progress | None = None) -> list[dict]:
        self.calls.append("rerank")
        return [{"scores": {str(s): 0.7 for s in seeds}, "mean_score": 0.7, "mean": 0.7} for _ in graphs]


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> FakeEngine:
    try:
        import search_engine.evaluate as module
    except ImportError:  # the engine's evaluate() not there yet: the tasks import it lazily
        module = types.ModuleType("search_engine.evaluate")
        monkeypatch.setitem(sys.modules, "search_engine.evaluate", module)
    fake = FakeEngine()
    monkeypatch.setattr(module, "evaluate", fake.evaluate, raising=False)
    monkeypatch.setattr(module, "rerank", fake.rerank, raising=False)
    return fake


def wait_for(predicate: Callable[[], object], *, timeout: float = 60, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
