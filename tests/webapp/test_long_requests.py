"""Issue 11, item 3: a request line or header longer than Twisted's 16 KiB gets an answer, not a dropped connection.

The web server the lab runs (``webapp.runtime.daphne_server``) in its own
process on a free port; raw sockets, so the client library adds nothing.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.lab_server import REPO_ROOT, free_port

pytestmark = pytest.mark.subprocess  # a Daphne process


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    import os

    port = free_port()
    var = Path(tmp_path_factory.mktemp("web"))
    env = {**os.environ, "LAB_VAR_DIR": str(var), "PYTHONUNBUFFERED": "1"}
    log = open(var / "web.log", "wb")  # noqa: SIM115 - the child writes to it
    proc = subprocess.Popen([sys.executable, "-m", "webapp.runtime.daphne_server", "-b", "127.0.0.1", "-p", str(port),
                             "webapp.asgi:application"], cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            assert proc.poll() is None and time.monotonic() < deadline, (var / "web.log").read_text()
            time.sleep(0.1)
    yield port
    proc.terminate()
    proc.wait(20)
    log.close()


def _exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


def test_a_normal_query_string_reaches_the_application(web: int) -> None:
    answer = _exchange(web, b"GET /api/me?q=" + b"a" * 8000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 401 "), answer[:200]


def test_a_60_kb_query_string_is_answered_414(web: int) -> None:
    answer = _exchange(web, b"GET /api/me?q=" + b"a" * 60_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414 "), answer[:200]


def test_a_60_kb_header_is_answered_431(web: int) -> None:
    answer = _exchange(web, b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"b" * 60_000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]


def test_many_headers_adding_up_past_the_limit_are_answered_400(web: int) -> None:
    headers = b"".join(b"X-H%d: %s\r\n" % (i, b"c" * 1000) for i in range(40))
    answer = _exchange(web, b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\n" + headers + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
