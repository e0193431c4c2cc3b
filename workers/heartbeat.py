"""A daemon thread that proves an evaluation is alive and learns when to give it up.

While ``evaluate`` trains, the thread calls a beat function (the service
``candidate_heartbeat`` or ``rerank_job_heartbeat``) every
``LAB_HEARTBEAT_SECONDS``. When the service answers False (the attempt was
superseded, the search was stopped) the thread sets a flag that the engine's
``should_stop`` callback reads, so training ends at its next check. A beat
that raises (database briefly locked) is logged and retried next period.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType

log = logging.getLogger(__name__)


class Heartbeat:
    """Context manager: ``with Heartbeat(beat, interval=10) as hb: evaluate(..., should_stop=hb.should_stop)``."""

    def __init__(self, beat: Callable[[], bool], *, interval: float, name: str = "heartbeat") -> None:
        self._beat = beat
        self._interval = interval
        self._done = threading.Event()
        self._abort = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def should_stop(self) -> bool:
        """True once the service said this attempt must end."""
        return self._abort.is_set()

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._done.wait(self._interval):
                try:
                    alive = self._beat()
                except Exception:
                    log.warning("heartbeat failed; retrying in %.1f s", self._interval, exc_info=True)
                    connection.close()  # a broken connection is replaced on the next beat
                    continue
                if not alive:
                    log.info("heartbeat refused: the attempt is superseded or its search stopped")
                    self._abort.set()
                    return
        finally:
            connection.close()

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._done.set()
        self._thread.join(timeout=max(5.0, self._interval))
