"""Issue 11, item 4: recovery that needs neither beat nor the heartbeat timeout.

- Redis killed mid-search with ``manage.py lab --no-beat``: the queued
  candidate whose message died with Redis still runs, a search created
  while Redis was down starts once it is back, and meanwhile the websocket
  handshake ends in a clean close 4503 ("try again later").
- A pool process SIGKILLed mid-evaluation: its candidate is redelivered at
  once (Celery's reject-on-worker-lost path, the attempt released by the
  worker's main process), long before the heartbeat timeout would let the
  reaper act; it is never counted twice as running.

The heartbeat timeout is set far beyond each test's waits, so only these paths
can pass them. Figures go to test-artifacts/abuse-figures.json.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable

import httpx
import pytest
from websockets.exceptions import ConnectionClosedError

from tests.support.lab_server import LabServer
from tests.system.helpers import (
    EventFollower,
    assert_consistent,
    launch,
    record_figures,
    search_detail,
    tiny_overrides,
    wait_for,
)
from webapp.consumers import CLOSE_TRY_AGAIN
from webapp.runtime.redis import EmbeddedRedis, ensure_embedded_redis

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.abuse]

NO_REAPER = {"LAB_HEARTBEAT_SECONDS": "0.5", "LAB_HEARTBEAT_TIMEOUT": "3600", "LAB_REAPER_INTERVAL": "3600"}
QUICK_EVAL = {"stability_steps": 0, "steps": 40}
TRAINABLE_SEEDS = ["bn_relu", "evonorm_s0"]


def _finished(http: httpx.Client, search_id: int) -> dict | None:
    detail = search_detail(http, search_id)
    return detail if detail["status"] in ("finished", "failed") else None


def test_redis_kill_without_beat_loses_no_queued_candidate_and_no_new_search(
    private_redis: dict, lab_factory: Callable[..., LabServer],
) -> None:
    server: EmbeddedRedis = private_redis["server"]
    lab = lab_factory(env={**NO_REAPER, "REDIS_URL": server.url}, args=["--no-beat", "--eval-workers", "1"])
    assert "beat" not in lab.processes()
    http = lab.client(lab.create_user(lab.unique_name("nob"), "a-long-enough-password"))
    # Two in flight, one eval process: one trains while the other waits in Redis's queue.
    first = launch(http, name="before", overrides=tiny_overrides(budget=4, parallel=2, eval=QUICK_EVAL),
                   seed_references=TRAINABLE_SEEDS)
    follower = EventFollower(lab, http, first["id"])
    follower.start()
    try:
        wait_for(follower.training, timeout=180, what="a candidate in training", lab=lab, interval=0.05)
        assert search_detail(http, first["id"])["counts"]["queued"] >= 1
        server.stop()  # the queued message, the unacked one and the channel groups are gone
        during = http.post("/api/searches", json={"name": "during", "preset": "cpu-quick", "seed": 2,
                                                  "overrides": tiny_overrides(budget=2, parallel=1, eval=QUICK_EVAL),
                                                  "seed_references": TRAINABLE_SEEDS})
        assert during.status_code == 201, during.text  # the database took it; Redis is not needed for that
        second = during.json()
        # The live stream cannot work without Redis: the handshake ends in a clean close, not an HTTP 500.
        with lab.ws_connect(http, f"/ws/searches/{second['id']}/?after=0") as ws:
            with pytest.raises(ConnectionClosedError) as closed:
                ws.recv(timeout=20)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == CLOSE_TRY_AGAIN
        private_redis["server"] = ensure_embedded_redis(server.socket_path)
        back = time.monotonic()

        def started(search_id: int) -> bool:
            return any(c["attempts"] >= 1 for c in _candidates(http, search_id))

        wait_for(lambda: started(second["id"]), timeout=120, what="the search created during the outage to start",
                 lab=lab)
        recovered = time.monotonic() - back
        done_first = wait_for(lambda: _finished(http, first["id"]), timeout=300, what="the first search", lab=lab)
        done_second = wait_for(lambda: _finished(http, second["id"]), timeout=300, what="the second search",
                               lab=lab)
        finished_after = time.monotonic() - back
    finally:
        follower.stop()
    assert done_first["status"] == "finished" and done_second["status"] == "finished"
    for search in (first, second):
        state = assert_consistent(http, search["id"])
        assert len(state["candidates"]) == state["detail"]["budget"]
    assert "beat" not in lab.processes()
    record_figures("redis_kill_without_beat", seconds_until_outage_search_started=round(recovered, 1),
                   seconds_until_both_finished=round(finished_after, 1), heartbeat_timeout_s=3600)
    http.close()


def _candidates(http: httpx.Client, search_id: int) -> list[dict]:
    response = http.get(f"/api/searches/{search_id}/candidates", params={"page_size": 100})
    response.raise_for_status()
    return response.json()["items"]


def test_a_killed_pool_process_is_redelivered_at_once(lab_factory: Callable[..., LabServer]) -> None:
    lab = lab_factory(env=NO_REAPER, args=["--eval-workers", "1"])
    http = lab.client(lab.create_user(lab.unique_name("pool"), "a-long-enough-password"))
    search = launch(http, name="pool kill", overrides=tiny_overrides(budget=3, parallel=1, eval=QUICK_EVAL),
                    seed_references=TRAINABLE_SEEDS)
    follower = EventFollower(lab, http, search["id"])
    follower.start()
    running_seen: list[int] = []
    try:
        victim = wait_for(follower.training, timeout=180, what="a candidate in training", lab=lab, interval=0.05)
        main = next(p for p in lab.processes()["worker"] if p.ppid() == lab.process.pid)
        children = main.children()
        assert len(children) == 1, children  # --eval-workers 1: one pool process
        children[0].send_signal(signal.SIGKILL)  # the pool process only; the worker's main process lives
        killed = time.monotonic()

        def restarted() -> bool:
            detail = search_detail(http, search["id"])
            running_seen.append(detail["counts"]["running"])
            return any(e["type"] == "candidate.started" and e["payload"]["candidate_id"] == victim
                       and e["payload"]["attempt"] == 2 for e in follower.events)

        wait_for(restarted, timeout=120, what="the killed candidate's second attempt", lab=lab, interval=0.1)
        redelivered = time.monotonic() - killed
        wait_for(follower.done.is_set, timeout=300, what="the search to finish", lab=lab)
    finally:
        follower.stop()
    state = assert_consistent(http, search["id"], follower)
    assert state["detail"]["status"] == "finished"
    candidate = next(c for c in state["candidates"] if c["id"] == victim)
    assert candidate["attempts"] == 2
    per_victim = [e for e in state["events"] if e["payload"].get("candidate_id") == victim]
    assert [e["type"] for e in per_victim] == ["candidate.started", "candidate.requeued", "candidate.started"]
    assert "died" in per_victim[1]["payload"]["reason"]
    assert max(running_seen) <= 1, running_seen  # parallel 1: never two counted as running
    assert "restarted worker" not in lab.log_text()  # the worker itself stayed up
    record_figures("pool_process_kill", seconds_until_redelivered=round(redelivered, 1), heartbeat_timeout_s=3600)
    http.close()
