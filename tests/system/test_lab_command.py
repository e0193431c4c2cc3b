"""``python manage.py lab`` itself: restarts a dead child, stops everything on Ctrl-C, fails loudly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import pytest

from tests.support.lab_server import REPO_ROOT, LabServer

pytestmark = [pytest.mark.system]


def test_a_dead_child_is_restarted_and_ctrl_c_stops_everything(lab_factory: Callable[..., LabServer]) -> None:
    lab = lab_factory(args=["--eval-workers", "0"])
    roles = lab.processes()
    assert {"web", "control", "beat"} <= set(roles)
    assert "worker" not in roles  # --eval-workers 0: evaluation happens elsewhere
    beat = roles["beat"][0]
    beat.kill()
    lab.wait_for_log(["beat (pid", "exited unexpectedly", "restarted beat"], timeout=60)
    assert httpx.get(lab.base_url + "/accounts/login/").status_code == 200
    if "redis" in roles:  # the embedded Redis (not in CI's REDIS_URL pass): back on the same socket
        roles["redis"][0].kill()
        lab.wait_for_log(["restarted redis"], timeout=60)
        lab.wait_until(lambda: "redis" in lab.processes(), timeout=30, what="a new redis-server")
        assert (lab.var_dir / "redis" / "redis.sock").exists()

    children = [p for ps in lab.processes().values() for p in ps]
    lab.process.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends
    assert lab.process.wait(60) == 0
    gone, alive = psutil.wait_procs(children, timeout=10)
    assert not alive, alive
    assert lab.log_text().rstrip().endswith("stopped")
    if lab.env.get("REDIS_URL") is None:
        assert not (lab.var_dir / "redis" / "redis.sock").exists()


def _lab(args: list[str], env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "lab", *args], cwd=REPO_ROOT, env={**os.environ, **env},
                          capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize(("name", "value"), [("LAB_DEVICE", "gpu"), ("LAB_HEARTBEAT_SECONDS", "often"),
                                             ("REDIS_URL", "http://localhost")])
def test_a_bad_setting_stops_the_lab_with_its_name(tmp_path: Path, name: str, value: str) -> None:
    done = _lab([], {"LAB_VAR_DIR": str(tmp_path), name: value})
    assert done.returncode != 0
    assert name in done.stderr and "ImproperlyConfigured" in done.stderr


def test_a_busy_port_or_a_silent_redis_is_reported_and_nothing_is_left_running(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        # --no-migrate: in CI's second pass DATABASE_URL names a shared database.
        done = _lab(["--port", str(port), "--no-migrate"], {"LAB_VAR_DIR": str(tmp_path)})
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    if not os.environ.get("REDIS_URL"):
        assert not (tmp_path / "redis" / "redis.sock").exists()  # the embedded Redis was stopped again

    done = _lab([], {"LAB_VAR_DIR": str(tmp_path), "REDIS_URL": "redis://127.0.0.1:1/0"})
    assert done.returncode != 0 and "does not answer" in done.stderr


def test_env_example_documents_every_setting_the_lab_reads() -> None:
    import re

    read = set(re.findall(r'env_(?:str|bool|int|float|list)\("([A-Z_]+)"', (REPO_ROOT / "webapp/settings.py").read_text()))
    documented = set(re.findall(r"^#?([A-Z_]+)=", (REPO_ROOT / ".env.example").read_text(), flags=re.M))
    assert read and read <= documented, f"undocumented in .env.example: {sorted(read - documented)}"
