"""Fixtures the system tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from webapp.runtime.redis import EmbeddedRedis, ensure_embedded_redis


@pytest.fixture
def private_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """A Redis this test may restart, on its own socket (never the machine's ``REDIS_URL``)."""
    sock = Path(tmp_path_factory.mktemp("r")) / "r.sock"
    box: dict[str, EmbeddedRedis] = {"server": ensure_embedded_redis(sock)}
    yield box
    box["server"].stop()
