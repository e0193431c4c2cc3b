"""Suite-wide rules: a skipped test is a failure of the work, not a pass; every test is in a tier.

Required suites must run on every machine the README supports; a test that
cannot run here should not exist, so any skip turns the session red.

Tiers (README, "Test"): ``make test-fast`` runs the tests with none of the ``TIER_MARKERS``
(engine, web app and workers in this process), ``make test`` runs every tier. A test under
``tests/frontend`` or ``tests/system`` without its directory's marker, or an unmarked test that
starts a process, fails: no test can fall into the fast tier by accident.

Hypothesis: the ``ci`` profile when ``CI`` is set (derandomized, no deadline, more examples for
tests that set none), ``dev`` otherwise (Hypothesis's defaults).
"""

from __future__ import annotations

import multiprocessing.process
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _pytest.terminal import TerminalReporter
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

pytest_plugins = ["tests.support.lab_server"]

TESTS_DIR = Path(__file__).resolve().parent
# Markers that take a test out of the fast tier (registered in pyproject.toml).
TIER_MARKERS = ("browser", "system", "subprocess", "slow")
# A test in one of these folders must carry the folder's marker.
FOLDER_MARKERS = {"frontend": "browser", "system": "system"}
# A test with one of these markers may start processes.
PROCESS_MARKERS = ("browser", "system", "subprocess")

hypothesis_settings.register_profile(
    "ci", max_examples=300, deadline=None, derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
hypothesis_settings.register_profile("dev")
hypothesis_settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {hypothesis_settings.get_current_profile_name()} (CI={os.environ.get('CI', '')!r})"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test under ``tests/frontend`` or ``tests/system`` carries its folder's marker."""
    missing = []
    for item in items:
        try:
            folder = Path(item.path).resolve().relative_to(TESTS_DIR).parts[0]
        except ValueError:  # a test file outside tests/ (given on the command line)
            continue
        marker = FOLDER_MARKERS.get(folder)
        if marker is not None and item.get_closest_marker(marker) is None:
            missing.append(f"{item.nodeid} (needs @pytest.mark.{marker})")
    if missing:
        raise pytest.UsageError("tests outside their tier:\n  " + "\n  ".join(missing))


@pytest.fixture(scope="session")
def settings_redis() -> Iterator[None]:
    """The Redis the settings name, answering for the whole session: the embedded server (started
    on ``EMBEDDED_REDIS_SOCKET`` if none answers, stopped at the end) or ``REDIS_URL`` (which must
    answer). The web app's tests use it throughout, the worker tests as their broker."""
    import redis
    from django.conf import settings

    if settings.EMBEDDED_REDIS:
        from webapp.runtime.redis import ensure_embedded_redis

        handle = ensure_embedded_redis(settings.EMBEDDED_REDIS_SOCKET)
        yield
        handle.stop()
    else:
        client = redis.Redis.from_url(settings.CHANNEL_REDIS_HOST)
        assert client.ping(), f"REDIS_URL {settings.REDIS_URL} does not answer"
        client.close()
        yield


@pytest.fixture(autouse=True)
def _processes_need_a_marker(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """An unmarked (fast-tier) test that starts a process fails, naming the marker it needs."""
    if any(request.node.get_closest_marker(m) for m in PROCESS_MARKERS):
        yield
        return

    def refuse(self: subprocess.Popen, args: Any, *rest: Any, **kwargs: Any) -> None:
        raise AssertionError(f"{request.node.nodeid} starts a process ({args!r:.200}): mark it "
                             "@pytest.mark.subprocess so that `make test-fast` leaves it out")

    def refuse_process(self: multiprocessing.process.BaseProcess) -> None:
        refuse(None, f"multiprocessing {self.name}")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse_process)
    yield

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and not os.environ.get("LAB_ALLOW_SKIPS"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: TerminalReporter, exitstatus: int, config: pytest.Config) -> None:
    if _skipped and not os.environ.get("LAB_ALLOW_SKIPS"):
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) skipped; skips count as failures "
            "(set LAB_ALLOW_SKIPS=1 only while developing).",
            red=True,
        )
