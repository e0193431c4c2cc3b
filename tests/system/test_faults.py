"""Faults in the middle of a search: the worker SIGKILLed mid-evaluation, Redis restarted.

Each test starts its own lab (``lab_factory``) with a fast heartbeat and
reaper, launches a small search over HTTP, follows it over the websocket like
a browser tab (reconnecting with ``after=<last seq>`` when the socket drops),
breaks something while a candidate is training, and then checks that the
search finished with no candidate lost or recorded twice, and that the events
are exactly 1..N live, stored and replayed.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable

import psutil
import pytest

from tests.support.lab_server import LabServer
from tests.system.helpers import (
    EventFollower,
    assert_consistent,
    launch,
    replay,
    tiny_overrides,
    wait_for,
)
from webapp.runtime.redis import EmbeddedRedis, ensure_embedded_redis

pytestmark = [pytest.mark.system, pytest.mark.slow]

FAST = {"LAB_HEARTBEAT_SECONDS": "0.5", "LAB_HEARTBEAT_TIMEOUT": "6", "LAB_REAPER_INTERVAL": "1"}
# Enough steps that a candidate seen early in training is still training a moment later.
QUICK_EVAL = {"stability_steps": 0, "steps": 40}
# The faults must strike a candidate in training; random layers may all be
# rejected before training (the seed decides), reference layers never are.
TRAINABLE_SEEDS = ["bn_relu", "evonorm_s0"]


def _follow_to_the_end(lab: LabServer, follower: EventFollower, timeout: float = 300) -> None:
    try:
        wait_for(follower.done.is_set, timeout=timeout, what="the search to finish", lab=lab)
    finally:
        follower.stop()


def _eval_worker_main(lab: LabServer) -> psutil.Process:
    mains = [p for p in lab.processes().get("worker", []) if p.ppid() == lab.process.pid]
    assert len(mains) == 1, lab.processes()
    return mains[0]


def test_sigkill_of_the_worker_mid_evaluation(lab_factory: Callable[..., LabServer]) -> None:
    lab = lab_factory(env=FAST)
    http = lab.client(lab.create_user(lab.unique_name("kim"), "a-long-enough-password"))
    search = launch(http, name="sigkill", overrides=tiny_overrides(budget=3, parallel=1, eval=QUICK_EVAL),
                    seed_references=TRAINABLE_SEEDS)
    follower = EventFollower(lab, http, search["id"])
    follower.start()

    worker = _eval_worker_main(lab)
    victim = wait_for(follower.training, timeout=180, what="a candidate in training", lab=lab, interval=0.05)
    os.killpg(worker.pid, signal.SIGKILL)  # the worker and its pool process, no goodbye
    lab.wait_for_log(["restarted worker"], timeout=60)  # the lab starts a new worker

    _follow_to_the_end(lab, follower)
    state = assert_consistent(http, search["id"], follower)
    assert state["detail"]["status"] == "finished"
    victim = next(c for c in state["candidates"] if c["id"] == victim)
    assert victim["attempts"] == 2, victim
    per_victim = [e for e in state["events"] if e["payload"].get("candidate_id") == victim["id"]]
    assert [e["type"] for e in per_victim] == ["candidate.started", "candidate.requeued", "candidate.started"]
    again = replay(lab, http, search["id"], until_seq=state["detail"]["last_seq"])
    assert [e["seq"] for e in again] == list(range(1, state["detail"]["last_seq"] + 1))
    http.close()


def test_redis_restart_mid_search(private_redis: dict, lab_factory: Callable[..., LabServer]) -> None:
    server: EmbeddedRedis = private_redis["server"]
    lab = lab_factory(env={**FAST, "REDIS_URL": server.url})
    http = lab.client(lab.create_user(lab.unique_name("rey"), "a-long-enough-password"))
    search = launch(http, name="redis restart", overrides=tiny_overrides(budget=4, parallel=2, eval=QUICK_EVAL),
                    seed_references=TRAINABLE_SEEDS)
    follower = EventFollower(lab, http, search["id"])
    follower.start()

    wait_for(follower.training, timeout=180, what="a candidate in training", lab=lab, interval=0.05)
    server.stop()  # queues, unacked messages, channel groups: all gone
    time.sleep(2.0)
    private_redis["server"] = ensure_embedded_redis(server.socket_path)
    assert private_redis["server"].owned

    _follow_to_the_end(lab, follower)
    state = assert_consistent(http, search["id"], follower)
    assert state["detail"]["status"] == "finished"
    assert len(state["candidates"]) == 4
    assert follower.connects >= 2, "the websocket should have been dropped with Redis and reopened"
    again = replay(lab, http, search["id"], until_seq=state["detail"]["last_seq"])
    assert [e["seq"] for e in again] == list(range(1, state["detail"]["last_seq"] + 1))
    http.close()
