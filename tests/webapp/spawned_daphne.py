"""A daphne test server in a fresh interpreter (spawn), not a fork of the test process.

A fork inherits the test process's event loops, executor threads and
database handles from earlier tests, which leaves the server hanging on its
first websocket. This module imports nothing from Django, so the child can
unpickle it before settings are loaded.
"""

from __future__ import annotations

import multiprocessing

from daphne.testing import DaphneProcess


class SpawnedDaphneProcess(DaphneProcess):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        spawn = multiprocessing.get_context("spawn")
        self.port = spawn.Value("i", self.port.value)
        self.ready = spawn.Event()
        self.errors = spawn.Queue()

    @staticmethod
    def _Popen(process_obj):  # noqa: N802 - multiprocessing's name
        from multiprocessing.popen_spawn_posix import Popen

        return Popen(process_obj)
