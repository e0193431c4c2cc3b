"""The heartbeat thread: beats while work runs, turns a refusal into should_stop, survives errors."""

from __future__ import annotations

import time
from collections.abc import Callable

from workers.heartbeat import Heartbeat


def _wait(predicate: Callable[[], object], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False


def test_beats_periodically_until_the_work_ends() -> None:
    calls: list[float] = []
    with Heartbeat(lambda: calls.append(time.monotonic()) or True, interval=0.05) as hb:
        assert _wait(lambda: len(calls) >= 3)
        assert not hb.should_stop()
    assert not hb._thread.is_alive()  # the thread ended with the block: no beat can follow


def test_a_refused_beat_asks_the_work_to_stop() -> None:
    answers = iter([True, False])
    with Heartbeat(lambda: next(answers), interval=0.05) as hb:
        assert _wait(hb.should_stop)


def test_a_failing_beat_is_retried_not_fatal() -> None:
    calls = {"n": 0}

    def beat() -> bool:
        calls["n"] += 1
        if calls["n"] < 3:
            raise RuntimeError("database is locked")
        return True

    with Heartbeat(beat, interval=0.05) as hb:
        assert _wait(lambda: calls["n"] >= 4)
        assert not hb.should_stop()
