"""What the system tests share: launching a small search over HTTP and following it over the websocket.

``EventFollower`` behaves like a browser tab: it opens ``/ws/searches/<id>/?after=N``,
records every stored event, and when the socket closes (a server or Redis
restart) reconnects with ``after=<last seq seen>``. It notes any gap or
duplicate it sees, so a test can assert the stream it assembled is exactly
``1..N``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx

from tests.support.lab_server import LabServer

T = TypeVar("T")

FINAL_STATUSES = ("finished", "stopped", "failed")


def tiny_overrides(**extra: object) -> dict:
    """cpu-quick shrunk to seconds per candidate; quality gate off so layers are scored, not rejected."""
    base: dict = {
        "budget": 4, "parallel": 2, "population_size": 4, "tournament_size": 2,
        "rerank_top_k": 0, "rerank_keep": 0,
        "eval": {
            "dataset": "synthetic", "architectures": ["resnet50"], "width": 0.125, "depth": 0.2,
            "steps": 8, "batch_size": 16, "eval_batch_size": 64, "quality_steps": 2, "quality_threshold": 0.0,
            "stability_steps": 1, "progress_every": 2, "train_examples": 128, "val_examples": 64,
        },
    }
    for key, value in extra.items():
        if key == "eval":
            base["eval"] = {**base["eval"], **value}  # type: ignore[dict-item]
        else:
            base[key] = value
    return base


def launch(http: httpx.Client, *, name: str, overrides: dict, seed: int = 1, **body: object) -> dict:
    response = http.post("/api/searches", json={"name": name, "preset": "cpu-quick", "overrides": overrides,
                                                "seed": seed, **body})
    assert response.status_code == 201, response.text
    return response.json()


def search_detail(http: httpx.Client, search_id: int) -> dict:
    response = http.get(f"/api/searches/{search_id}")
    response.raise_for_status()
    return response.json()


def all_candidates(http: httpx.Client, search_id: int) -> list[dict]:
    items: list[dict] = []
    page = 1
    while True:
        response = http.get(f"/api/searches/{search_id}/candidates", params={"page": page, "page_size": 100})
        response.raise_for_status()
        body = response.json()
        items += body["items"]
        if len(items) >= body["count"] or not body["items"]:
            return items
        page += 1


def stored_events(http: httpx.Client, search_id: int) -> list[dict]:
    events: list[dict] = []
    while True:
        response = http.get(f"/api/searches/{search_id}/events", params={"after": len(events), "limit": 500})
        response.raise_for_status()
        page = response.json()["events"]
        events += page
        if len(page) < 500:
            return events


def wait_for(predicate: Callable[[], T], *, timeout: float, what: str, lab: LabServer | None = None,
             interval: float = 0.3) -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = f"\n{lab.log_tail(80)}" if lab is not None else ""
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}{tail}")
        time.sleep(interval)


class EventFollower(threading.Thread):
    """Follows one search's websocket like a browser tab (see the module docstring)."""

    def __init__(self, lab: LabServer, http: httpx.Client, search_id: int) -> None:
        super().__init__(daemon=True, name=f"follow-{search_id}")
        self.lab, self.http, self.search_id = lab, http, search_id
        self.events: list[dict] = []
        self.problems: list[str] = []
        self.progress = 0
        self.latest_progress: dict[int, dict] = {}  # candidate id -> its newest progress payload
        self.connects = 0
        self.done = threading.Event()
        self._halt = threading.Event()

    @property
    def last_seq(self) -> int:
        return self.events[-1]["seq"] if self.events else 0

    def run(self) -> None:
        from websockets.exceptions import WebSocketException

        while not self._halt.is_set() and not self.done.is_set():
            try:
                with self.lab.ws_connect(self.http, f"/ws/searches/{self.search_id}/?after={self.last_seq}") as ws:
                    self.connects += 1
                    while not self._halt.is_set() and not self.done.is_set():
                        try:
                            raw = ws.recv(timeout=1.0)
                        except TimeoutError:
                            continue
                        self._take(json.loads(raw))
            except (WebSocketException, OSError, TimeoutError):
                time.sleep(0.5)  # the server or its Redis is restarting: reconnect and replay

    def _take(self, message: dict) -> None:
        seq = message.get("seq")
        if seq is None:
            if message.get("type") == "candidate.progress":
                self.progress += 1
                self.latest_progress[message["payload"]["candidate_id"]] = message["payload"]
            return
        if seq != self.last_seq + 1:
            self.problems.append(f"expected seq {self.last_seq + 1}, got {seq} ({message.get('type')})")
            if seq <= self.last_seq:
                return
        self.events.append(message)
        if message["type"] == "search.status" and message["payload"]["status"] in FINAL_STATUSES:
            self.done.set()

    def training(self) -> int | None:
        """A candidate now in its training stage with most of its steps to go (its id), if any."""
        for candidate_id, p in list(self.latest_progress.items()):
            if p.get("stage") == "train" and p.get("step") is not None and p.get("total"):
                if p["step"] <= p["total"] // 2:
                    return candidate_id
        return None

    def stop(self) -> None:
        self._halt.set()
        self.join(10)


def replay(lab: LabServer, http: httpx.Client, search_id: int, *, until_seq: int, timeout: float = 30) -> list[dict]:
    """Every stored event a fresh ``?after=0`` connection replays, up to ``until_seq``."""
    got: list[dict] = []
    deadline = time.monotonic() + timeout
    with lab.ws_connect(http, f"/ws/searches/{search_id}/?after=0") as ws:
        while (not got or got[-1]["seq"] < until_seq) and time.monotonic() < deadline:
            message = json.loads(ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("seq") is not None:
                got.append(message)
    return got


def assert_consistent(http: httpx.Client, search_id: int, followed: EventFollower | None = None) -> dict:
    """No candidate lost or recorded twice; events 1..N with no gap, live and replayed alike."""
    detail = search_detail(http, search_id)
    events = stored_events(http, search_id)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(1, len(events) + 1)), f"stored events are not 1..N: {seqs}"
    assert detail["last_seq"] == len(events)
    candidates = all_candidates(http, search_id)
    by_id = {c["id"]: c for c in candidates}
    created = [e["payload"]["candidate"]["id"] for e in events if e["type"] == "candidate.created"]
    finished = [e["payload"]["candidate"]["id"] for e in events if e["type"] == "candidate.finished"]
    lost = [e["payload"]["candidate_id"] for e in events if e["type"] == "candidate.lost"]
    assert sorted(created) == sorted(by_id), "every candidate has exactly one candidate.created"
    assert len(finished) == len(set(finished)), f"a candidate was recorded twice: {finished}"
    assert not lost, f"candidates lost: {lost}"
    assert sorted(finished) == sorted(by_id), "every candidate was recorded exactly once"
    assert all(c["status"] in ("evaluated", "rejected", "failed") for c in candidates), candidates
    if followed is not None:
        assert not followed.problems, followed.problems
        assert [e["seq"] for e in followed.events] == seqs
        assert [e["type"] for e in followed.events] == [e["type"] for e in events]
    return {"detail": detail, "events": events, "candidates": candidates}


FIGURES = Path(__file__).resolve().parents[2] / "test-artifacts" / "abuse-figures.json"


def record_figures(section: str, **values: object) -> None:
    """Keep a test's measured figures (requests sent, 5xx seen, seconds to recover) in
    ``test-artifacts/abuse-figures.json``, one section per test, for the release notes."""
    FIGURES.parent.mkdir(exist_ok=True)
    try:
        data = json.loads(FIGURES.read_text())
    except (OSError, ValueError):
        data = {}
    data[section] = values
    FIGURES.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    print(f"figures {section}: {values}")
