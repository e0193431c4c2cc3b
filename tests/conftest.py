"""Suite-wide rules: a skipped test is a failure of the work, not a pass.

Required suites must run on every machine the README supports; a test that
cannot run here should not exist, so any skip turns the session red.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.support.lab_server"]

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _skipped and not os.environ.get("LAB_ALLOW_SKIPS"):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    if _skipped and not os.environ.get("LAB_ALLOW_SKIPS"):
        terminalreporter.write_line(
            f"FAILED: {len(_skipped)} test(s) skipped; skips count as failures "
            "(set LAB_ALLOW_SKIPS=1 only while developing).",
            red=True,
        )
