"""Supervising the child processes of ``manage.py lab`` and ``manage.py gpu_workers``.

Each child runs in its own session, so a Ctrl-C in the terminal reaches only
the supervisor, which then stops the children all at once (Redis after the
rest): a stop signal, a grace period, an optional second signal (Celery's
cold shutdown), then SIGKILL to the child's whole process group. Children are also asked
(``PR_SET_PDEATHSIG``) to receive SIGTERM if the supervisor itself dies
without cleaning up, so a killed test run leaves no orphans holding ports.

Policy when a child exits on its own: it is restarted after a short pause
(a worker killed by the OOM killer, a Redis that crashed); a child that exits
``max_restarts`` times within ``restart_window`` seconds is crash-looping and
the supervisor stops everything and returns a non-zero status.

Output of every child is prefixed with its name (``worker | ...``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import IO, TextIO

_PR_SET_PDEATHSIG = 1
try:
    _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
except OSError:  # pragma: no cover - non-glibc platforms
    _libc = None


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the supervisor dies."""
    if _libc is not None and sys.platform.startswith("linux"):
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class ChildSpec:
    """How to start and stop one child.

    ``stop_signals`` are sent in turn, each followed by up to ``grace`` seconds
    of waiting; SIGKILL to the process group follows if the child is still
    alive. ``ready`` is polled after start by ``Supervisor.wait_ready``.
    Children stop together, those with ``stop_last`` after all the others.
    """

    name: str
    argv: Sequence[str]
    env: dict[str, str] | None = None
    stop_signals: tuple[int, ...] = (signal.SIGTERM,)
    grace: float = 10.0
    restart: bool = True
    ready: Callable[[], bool] | None = None
    on_restart: Callable[[], None] | None = None
    stop_last: bool = False  # a service the others need while they shut down (Redis)


@dataclass
class Child:
    spec: ChildSpec
    process: subprocess.Popen
    started_at: float
    exits: list[float] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def pid(self) -> int:
        return self.process.pid


class Supervisor:
    """Starts, restarts and stops a set of children; see the module docstring for the policy."""

    def __init__(
        self,
        *,
        out: TextIO | None = None,
        max_restarts: int = 3,
        restart_window: float = 60.0,
        restart_delay: float = 1.0,
    ) -> None:
        self.out = out or sys.stdout
        self.children: list[Child] = []
        self.max_restarts = max_restarts
        self.restart_window = restart_window
        self.restart_delay = restart_delay
        self._stop = threading.Event()
        self._signal_count = 0
        self._write_lock = threading.Lock()
        self.exit_status = 0

    # -- output ---------------------------------------------------------------
    def say(self, message: str, *, name: str = "lab") -> None:
        with self._write_lock:
            self.out.write(f"{name:>7} | {message}\n")
            self.out.flush()

    def _pump(self, name: str, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            self.say(raw.decode("utf-8", "replace").rstrip("\n"), name=name)
        stream.close()

    # -- starting ---------------------------------------------------------------
    def _spawn(self, spec: ChildSpec) -> subprocess.Popen:
        env = dict(os.environ if spec.env is None else spec.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        return subprocess.Popen(
            list(spec.argv),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a prctl call, nothing allocated
        )

    def start(self, spec: ChildSpec) -> Child:
        process = self._spawn(spec)
        child = Child(spec=spec, process=process, started_at=time.monotonic())
        child.reader = threading.Thread(target=self._pump, args=(spec.name, process.stdout), daemon=True)
        child.reader.start()
        self.children.append(child)
        self.say(f"started {spec.name} (pid {process.pid}): {' '.join(spec.argv[:6])}{' ...' if len(spec.argv) > 6 else ''}")
        return child

    def wait_ready(self, child: Child, *, timeout: float = 60.0) -> None:
        """Poll ``child.spec.ready`` until it is true; raise if the child exits or time runs out."""
        if child.spec.ready is None:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.spec.name} exited with status {child.process.returncode} while starting")
            if child.spec.ready():
                return
            if self._stop.wait(0.05):
                raise KeyboardInterrupt
        raise RuntimeError(f"{child.spec.name} was not ready within {timeout:.0f} s")

    # -- running ---------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        """SIGINT/SIGTERM request a clean stop; a second one makes the stop immediate."""

        def handler(signum: int, frame: FrameType | None) -> None:
            self._signal_count += 1
            self._stop.set()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def request_stop(self, status: int = 0) -> None:
        self.exit_status = self.exit_status or status
        self._stop.set()

    def run(self, *, poll: float = 0.2) -> int:
        """Watch the children until a stop is requested; restart those that die; then stop all."""
        try:
            while not self._stop.wait(poll):
                for child in list(self.children):
                    if child.process.poll() is not None:
                        self._handle_exit(child)
        finally:
            self.stop_all()
        return self.exit_status

    def _handle_exit(self, child: Child) -> None:
        code = child.process.returncode
        now = time.monotonic()
        child.exits = [t for t in child.exits if now - t < self.restart_window] + [now]
        self.say(f"{child.spec.name} (pid {child.pid}) exited unexpectedly with status {code}")
        if not child.spec.restart or len(child.exits) >= self.max_restarts:
            why = "is not restartable" if not child.spec.restart else (
                f"exited {len(child.exits)} times within {self.restart_window:.0f} s")
            self.say(f"{child.spec.name} {why}; stopping everything")
            self.request_stop(1)
            return
        if self._stop.wait(self.restart_delay):
            return
        if child.spec.on_restart is not None:
            child.spec.on_restart()
        child.process = self._spawn(child.spec)
        child.started_at = time.monotonic()
        child.reader = threading.Thread(target=self._pump, args=(child.spec.name, child.process.stdout), daemon=True)
        child.reader.start()
        self.say(f"restarted {child.spec.name} (pid {child.pid})")
        try:
            self.wait_ready(child, timeout=60.0)
        except (RuntimeError, KeyboardInterrupt) as exc:
            self.say(f"{child.spec.name} did not come back: {exc}")

    # -- stopping ---------------------------------------------------------------
    def stop_all(self) -> None:
        """Stop every child at once (``stop_last`` ones afterwards); a second Ctrl-C skips the grace periods."""
        first = [c for c in reversed(self.children) if not c.spec.stop_last]
        last = [c for c in reversed(self.children) if c.spec.stop_last]
        for group in (first, last):
            stoppers = [threading.Thread(target=self.stop_child, args=(c,)) for c in group]
            for thread in stoppers:
                thread.start()
            for thread in stoppers:
                thread.join()
        for child in self.children:
            if child.reader is not None:
                child.reader.join(timeout=2)
        self.children.clear()

    def stop_child(self, child: Child) -> None:
        process = child.process
        if process.poll() is None:
            self.say(f"stopping {child.spec.name} (pid {child.pid})")
            for sig in child.spec.stop_signals:
                if process.poll() is not None or self._signal_count > 1:
                    break
                _signal(process.pid, sig)
                if _wait(process, child.spec.grace, lambda: self._signal_count > 1):
                    break
        if process.poll() is None:
            self.say(f"{child.spec.name} (pid {child.pid}) did not stop; killing it")
        # Whatever is left in the child's group (a Celery pool process) goes too.
        _killpg(process.pid, signal.SIGKILL)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover - unkillable (D state)
            self.say(f"{child.spec.name} (pid {child.pid}) survived SIGKILL")


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _wait(process: subprocess.Popen, timeout: float, abort: Callable[[], bool]) -> bool:
    """Wait up to ``timeout`` s for ``process`` to exit; True if it did. ``abort`` cuts the wait short."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return True
        if abort():
            return False
        time.sleep(0.05)
    return process.poll() is not None
