"""The embedded Redis and the process supervisor behind ``manage.py lab``, with real processes."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from webapp.runtime.processes import ChildSpec, Supervisor
from webapp.runtime.redis import EmbeddedRedisError, ensure_embedded_redis, redis_ping

pytestmark = pytest.mark.subprocess  # Redis servers and supervised children


@pytest.fixture
def sock(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Path(tmp_path_factory.mktemp("r")) / "redis.sock"


def test_embedded_redis_starts_reuses_and_stops(sock: Path) -> None:
    first = ensure_embedded_redis(sock)
    try:
        assert first.owned and first.running()
        client = redis.Redis(unix_socket_path=str(sock))
        client.set("k", "v")
        again = ensure_embedded_redis(sock)
        assert not again.owned  # a server already answers: reuse it, never start a second
        again.stop()  # not ours: a no-op
        assert client.get("k") == b"v"
        client.close()
    finally:
        first.stop()
    assert not redis_ping(sock)
    assert not sock.exists()


def test_embedded_redis_restarts_on_the_same_socket_empty(sock: Path) -> None:
    server = ensure_embedded_redis(sock)
    redis.Redis(unix_socket_path=str(sock)).set("k", "v")
    server.process.kill()  # a crash leaves a stale socket file behind
    server.process.wait()
    assert sock.exists() and not redis_ping(sock)
    server = ensure_embedded_redis(sock)
    try:
        assert server.owned
        # No persistence: a restarted embedded Redis starts empty.
        assert redis.Redis(unix_socket_path=str(sock)).get("k") is None
    finally:
        server.stop()


def test_embedded_redis_refuses_a_socket_path_too_long(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedRedisError, match="too long"):
        ensure_embedded_redis(tmp_path / ("x" * 120) / "redis.sock")


def _sleeper(*, ignore_term: bool = False) -> list[str]:
    code = "import signal, time\n"
    if ignore_term:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "print('up', flush=True)\ntime.sleep(60)\n"
    return [sys.executable, "-c", code]


class _Lines:
    """A text stream that keeps what the supervisor writes."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def write(self, text: str) -> None:
        self.lines.extend(line for line in text.splitlines() if line)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "\n".join(self.lines)


def test_supervisor_prefixes_output_and_stops_the_service_others_need_last() -> None:
    out = _Lines()
    sup = Supervisor(out=out)
    a = sup.start(ChildSpec(name="a", argv=_sleeper(), grace=5, stop_last=True))
    b = sup.start(ChildSpec(name="b", argv=_sleeper(), grace=5))
    deadline = time.monotonic() + 10
    while out.text().count("| up") < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "      a | up" in out.text() and "      b | up" in out.text()
    sup.stop_all()
    assert a.process.returncode == -signal.SIGTERM and b.process.returncode == -signal.SIGTERM
    text = out.text()
    assert text.index("stopping b") < text.index("stopping a")


def test_supervisor_kills_a_child_that_ignores_the_stop_signal() -> None:
    out = _Lines()
    sup = Supervisor(out=out)
    child = sup.start(ChildSpec(name="stubborn", argv=_sleeper(ignore_term=True), grace=0.5))
    deadline = time.monotonic() + 10
    while "| up" not in out.text() and time.monotonic() < deadline:
        time.sleep(0.05)
    started = time.monotonic()
    sup.stop_all()
    assert child.process.returncode == -signal.SIGKILL
    assert time.monotonic() - started < 5
    assert "did not stop; killing it" in out.text()


def test_supervisor_restarts_a_dead_child_then_gives_up_on_a_crash_loop() -> None:
    out = _Lines()
    sup = Supervisor(out=out, max_restarts=3, restart_window=30, restart_delay=0.05)
    crashing = [sys.executable, "-c", "import sys; sys.exit(3)"]
    sup.start(ChildSpec(name="crashy", argv=crashing))
    keeper = sup.start(ChildSpec(name="keeper", argv=_sleeper(), grace=5))
    status = sup.run(poll=0.05)
    text = out.text()
    assert status == 1
    assert text.count("restarted crashy") == 2
    assert "exited 3 times within 30 s; stopping everything" in text
    assert keeper.process.returncode == -signal.SIGTERM  # the healthy one was stopped cleanly


def test_supervisor_restarts_a_killed_child_and_keeps_running() -> None:
    out = _Lines()
    sup = Supervisor(out=out, restart_delay=0.05)
    child = sup.start(ChildSpec(name="worker", argv=_sleeper(), grace=5))
    first_pid = child.pid
    runner = threading.Thread(target=sup.run, kwargs={"poll": 0.05})
    runner.start()
    try:
        child.process.send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 10
        while child.pid == first_pid and time.monotonic() < deadline:
            time.sleep(0.05)
        assert child.pid != first_pid and child.process.poll() is None
    finally:
        sup.request_stop()
        runner.join(30)
    assert sup.exit_status == 0
    assert child.process.returncode == -signal.SIGTERM
