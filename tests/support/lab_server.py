"""pytest plugin: the whole layer lab, started the way the README starts it.

Enable with ``pytest_plugins = ["tests.support.lab_server"]`` (tests/conftest.py).

Fixtures
--------
``lab_server`` (session)
    One ``python manage.py lab`` on a free port with its own ``LAB_VAR_DIR``
    (fresh SQLite database, embedded Redis), shared by the tests of a session.
    Tests must not assume they are alone on it: create users with unique names
    (``lab_server.unique_name("alice")``).
``lab_factory`` (function)
    ``lab_factory(env={...}, args=[...])`` starts a private lab for one test
    (the fault tests use short heartbeat timeouts); stopped when the test ends.

The ``LabServer`` object
------------------------
``base_url``, ``ws_url``, ``var_dir``, ``log_path``;
``create_user(username, password)`` (through ``manage.py``, fast),
``signup(username, password)`` (through the sign-up form, as a person would),
``client(user)`` → a signed-in ``httpx.Client`` that sends ``X-CSRFToken``
on writes, ``ws_connect(client, path)`` → a ``websockets`` sync connection
carrying the session cookie and Origin, ``processes()`` → the lab's children
by role (``web``, ``worker``, ``control``, ``beat``, ``redis``), ``log_tail()``.
When a test fails, the tail of the log of every lab it used is added to the
report.

Databases: with ``DATABASE_URL`` set (CI's PostgreSQL pass) every lab gets a
fresh database created next to the named one and dropped afterwards. With
``REDIS_URL`` set, that Redis database is flushed before each lab starts:
point the tests only at a scratch database (CI uses db 5).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import httpx
import psutil
import pytest

if TYPE_CHECKING:
    import psycopg
    from websockets.sync.client import ClientConnection

REPO_ROOT = Path(__file__).resolve().parents[2]
READY_LINE = "The layer lab is running at"
# Quick reactions for tests; a test's own env wins.
TEST_ENV_DEFAULTS = {
    "LAB_HEARTBEAT_SECONDS": "1",
    "LAB_HEARTBEAT_TIMEOUT": "30",
    "LAB_REAPER_INTERVAL": "5",
    "LAB_PROGRESS_MIN_INTERVAL": "0.2",
    "LAB_LOG_LEVEL": "INFO",
    # Every test signs up and in from 127.0.0.1; the abuse tests set their own limits.
    "LAB_SIGNUPS_PER_CLIENT": "10000",
    "LAB_LOGIN_FAILURES_PER_CLIENT": "10000",
}


@dataclass(frozen=True)
class LabUser:
    username: str
    password: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _csrf_from_html(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"', html)
    if not match:
        raise AssertionError("no csrfmiddlewaretoken in the form")
    return match.group(1)


def _add_csrf_header(request: httpx.Request, client: httpx.Client) -> None:
    if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE"):
        token = client.cookies.get("csrftoken")
        if token:
            request.headers["X-CSRFToken"] = token


@dataclass
class _PrivateDatabase:
    """A PostgreSQL database made for one lab (CI's second pass), dropped afterwards."""

    admin_url: str
    name: str

    @classmethod
    def create(cls, url: str) -> _PrivateDatabase:
        name = f"labtest_{uuid.uuid4().hex[:10]}"
        with _admin_connection(url) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return cls(admin_url=url, name=name)

    @property
    def url(self) -> str:
        return _with_database(self.admin_url, self.name)

    def drop(self) -> None:
        with _admin_connection(self.admin_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def _admin_connection(url: str) -> psycopg.Connection:
    """Autocommit connection to the server's ``postgres`` database (the named one may not exist yet)."""
    import psycopg

    try:
        return psycopg.connect(_pg_dsn(_with_database(url, "postgres")), autocommit=True)
    except psycopg.OperationalError:
        return psycopg.connect(_pg_dsn(url), autocommit=True)


def _pg_dsn(url: str) -> str:
    return url.replace("postgresql://", "postgres://", 1).replace("postgres://", "postgresql://", 1)


@dataclass
class LabServer:
    """A running ``manage.py lab``; see the module docstring."""

    var_dir: Path
    port: int = field(default_factory=free_port)
    env_overrides: dict[str, str] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    process: subprocess.Popen | None = None
    env: dict[str, str] = field(default_factory=dict)
    _database: _PrivateDatabase | None = None
    _users: int = 0

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.var_dir / "lab.log"

    # -- lifecycle -------------------------------------------------------------
    def start(self, *, timeout: float = 180.0, wait_workers: bool = True) -> LabServer:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **TEST_ENV_DEFAULTS, **self.env_overrides}
        env["LAB_VAR_DIR"] = str(self.var_dir)
        env["PYTHONUNBUFFERED"] = "1"
        database_url = env.get("DATABASE_URL", "")
        if database_url.startswith(("postgres://", "postgresql://")):
            self._database = _PrivateDatabase.create(database_url)
            env["DATABASE_URL"] = self._database.url
        if env.get("REDIS_URL"):
            import redis

            client = redis.Redis.from_url(env["REDIS_URL"])
            client.flushdb()
            client.close()
        self.env = env
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child writes to it
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "lab", "--host", self.host, "--port", str(self.port), *self.args],
            cwd=REPO_ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        workers = wait_workers and "--no-worker" not in self.args
        self.wait_for_log([READY_LINE], timeout=timeout)
        if workers:
            self.wait_until(self._workers_ready, timeout=timeout, what="the Celery workers to be ready")
        return self

    def _workers_ready(self) -> bool:
        text = self.log_text()
        control = re.search(r"control-\d+@\S+ ready\.", text) is not None
        if "--eval-workers" in self.args and self.args[self.args.index("--eval-workers") + 1] == "0":
            return control
        return control and re.search(r"eval-\d+@\S+ ready\.", text) is not None

    def stop(self, timeout: float = 60.0) -> None:
        if self.process is not None and self.process.poll() is None:
            descendants = self._descendants()
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            for proc in descendants:  # anything the lab failed to stop
                try:
                    proc.kill()
                except psutil.Error:
                    pass
        if self._database is not None:
            self._database.drop()
            self._database = None

    def _descendants(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            return []

    # -- observing -------------------------------------------------------------
    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 150) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_until(self, predicate: Callable[[], object], *, timeout: float, what: str, interval: float = 0.2) -> object:
        """Poll ``predicate`` until truthy; fail with the log tail if the lab dies or time runs out."""
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the lab exited ({self.process.returncode}) waiting for {what}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.log_tail()}")
            time.sleep(interval)

    def wait_for_log(self, needles: list[str], *, timeout: float) -> None:
        self.wait_until(lambda: all(n in self.log_text() for n in needles), timeout=timeout,
                        what=f"{needles!r} in the log")

    def processes(self) -> dict[str, list[psutil.Process]]:
        """The lab's live children by role; a Celery worker's pool processes are listed after its main one."""
        roles: dict[str, list[psutil.Process]] = {}
        for proc in self._descendants():
            try:
                cmd = " ".join(proc.cmdline())
            except psutil.Error:
                continue
            if "redis-server" in cmd:
                role = "redis"
            elif "daphne" in cmd:
                role = "web"
            elif " beat" in cmd:
                role = "beat"
            elif "-Q control" in cmd:
                role = "control"
            elif "-Q eval" in cmd:
                role = "worker"
            else:
                continue
            roles.setdefault(role, []).append(proc)
        return roles

    # -- users and clients -------------------------------------------------------
    def unique_name(self, prefix: str = "user") -> str:
        self._users += 1
        return f"{prefix}{self._users}_{uuid.uuid4().hex[:6]}"

    def manage(self, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 120) -> str:
        """Run ``python manage.py ...`` against this lab's database; return its output."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env={**self.env, **(extra_env or {})},
            capture_output=True, text=True, timeout=timeout,
        )
        if done.returncode != 0:
            raise AssertionError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def create_user(self, username: str, password: str) -> LabUser:
        """Create an account directly (no HTTP), for tests that are not about signing up."""
        code = (
            "import os; from django.contrib.auth import get_user_model; "
            "get_user_model().objects.create_user(os.environ['LAB_T_USER'], password=os.environ['LAB_T_PASS'])"
        )
        self.manage("shell", "-c", code, extra_env={"LAB_T_USER": username, "LAB_T_PASS": password})
        return LabUser(username, password)

    def signup(self, username: str, password: str) -> LabUser:
        """Create an account through the sign-up form, as a person would."""
        with httpx.Client(base_url=self.base_url, timeout=30) as http:
            page = http.get("/accounts/signup/")
            page.raise_for_status()
            names = set(re.findall(r'<input[^>]*\bname="([^"]+)"', page.text))
            form = {"csrfmiddlewaretoken": _csrf_from_html(page.text)}
            for name in names - {"csrfmiddlewaretoken"}:
                form[name] = password if "password" in name else username if "user" in name else ""
            response = http.post("/accounts/signup/", data=form)
            if response.status_code not in (302, 303):
                raise AssertionError(f"sign-up failed ({response.status_code}):\n{response.text[:2000]}")
        return LabUser(username, password)

    def client(self, user: LabUser, *, timeout: float = 60) -> httpx.Client:
        """A signed-in ``httpx.Client`` (session cookie; ``X-CSRFToken`` added on writes). Close it when done."""
        http = httpx.Client(base_url=self.base_url, timeout=timeout)
        http.event_hooks["request"] = [lambda request: _add_csrf_header(request, http)]
        page = http.get("/accounts/login/")
        page.raise_for_status()
        response = http.post(
            "/accounts/login/",
            data={"username": user.username, "password": user.password, "csrfmiddlewaretoken": _csrf_from_html(page.text)},
        )
        if response.status_code not in (302, 303) or "sessionid" not in http.cookies:
            http.close()
            raise AssertionError(f"sign-in of {user.username} failed ({response.status_code}):\n{response.text[:2000]}")
        return http

    def ws_headers(self, http: httpx.Client) -> dict[str, str]:
        cookies = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
        return {"Cookie": cookies}

    def ws_connect(self, http: httpx.Client, path: str, *, timeout: float = 30) -> ClientConnection:
        """A ``websockets.sync`` connection to ``path`` (e.g. ``/ws/searches/1/?after=0``) as ``http``'s user."""
        from websockets.sync.client import connect

        return connect(self.ws_url + path, additional_headers=self.ws_headers(http), origin=self.base_url,
                       open_timeout=timeout)


_active: list[LabServer] = []


def _new_lab(tmp_path_factory: pytest.TempPathFactory, **kwargs: object) -> LabServer:
    # Short folder names: the embedded Redis socket path must stay under 100 bytes.
    var_dir = Path(tmp_path_factory.mktemp("lab"))
    lab = LabServer(var_dir=var_dir, **kwargs)  # type: ignore[arg-type]
    _active.append(lab)
    return lab


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """The whole lab, started once per session (see the module docstring)."""
    lab = _new_lab(tmp_path_factory)
    try:
        lab.start()
        yield lab
    finally:
        lab.stop()


@pytest.fixture
def lab_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., LabServer]]:
    """``lab_factory(env=..., args=..., start=True)`` → a private lab, stopped when the test ends."""
    labs: list[LabServer] = []

    def make(*, env: dict[str, str] | None = None, args: list[str] | None = None, start: bool = True) -> LabServer:
        lab = _new_lab(tmp_path_factory, env_overrides=dict(env or {}), args=list(args or []))
        labs.append(lab)
        return lab.start() if start else lab

    yield make
    for lab in labs:
        lab.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """On failure, attach the log tail of every lab still running (the session's, the test's own)."""
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for lab in _active:
            if lab.process is not None and lab.process.poll() is None:
                report.sections.append((f"lab log {lab.log_path}", lab.log_tail()))
