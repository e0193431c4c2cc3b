"""Fixtures of the web app's tests: a real Redis, users, signed-in clients, recorded task sends.

Redis is the one the settings name: the embedded server (started here on
``EMBEDDED_REDIS_SOCKET`` if none answers) or ``REDIS_URL`` (which must answer).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from django.test import Client

EXAMPLES = Path("/work/shared/examples")


@pytest.fixture(scope="session", autouse=True)
def lab_redis(settings_redis: None) -> None:
    """Every web app test has the Redis of the settings (``tests/conftest.py``'s ``settings_redis``)."""


class SentTasks(list):
    """Tasks the code under test enqueued (after commit): ``(name, args, queue)``."""

    def named(self, name: str) -> list[tuple[str, list, str]]:
        return [t for t in self if t[0] == name]


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Sign-in and sign-up counters live in Redis: each test starts with none."""
    from webapp.services.throttle import PREFIX, redis_client

    def clear() -> None:
        client = redis_client()
        for kind in ("login-account", "login-client", "signup-client"):
            for key in client.scan_iter(f"{PREFIX}{kind}:*"):
                client.delete(key)

    clear()
    yield
    clear()


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    """Real hashing costs ~0.3 s a user; these tests are not about it."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def sent_tasks(monkeypatch) -> SentTasks:
    """Record task sends instead of putting them on the shared broker."""
    from webapp.services import dispatch

    sent = SentTasks()
    monkeypatch.setattr(dispatch, "sender", lambda name, args, queue: sent.append((name, list(args), queue)))
    return sent


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """``with commit(): ...`` runs on-commit callbacks (task sends) as a real commit would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _load_example(name: str) -> dict:
    from search_engine.library import load_reference

    return load_reference(name).to_dict()


@pytest.fixture
def s0_doc() -> dict:
    return copy.deepcopy(_load_example("evonorm_s0"))


@pytest.fixture
def b0_doc() -> dict:
    return copy.deepcopy(_load_example("evonorm_b0"))


@pytest.fixture
def make_user(django_user_model):
    counter = {"n": 0}

    def make(username: str | None = None):
        counter["n"] += 1
        return django_user_model.objects.create_user(
            username=username or f"user{counter['n']}", password="correct-horse-battery"
        )

    return make


@pytest.fixture
def user(make_user):
    return make_user("alice")


@pytest.fixture
def other_user(make_user):
    return make_user("mallory")


class JsonClient(Client):
    """A Django test client that sends and decodes JSON."""

    def _json(self, method: str, path: str, data=None, **extra):
        body = data if isinstance(data, (str, bytes)) or data is None else json.dumps(data)
        return getattr(super(), method)(path, body, content_type="application/json", **extra)

    def post_json(self, path: str, data=None, **extra):
        return self._json("post", path, data, **extra)

    def put_json(self, path: str, data=None, **extra):
        return self._json("put", path, data, **extra)


@pytest.fixture
def client_for():
    def make(user) -> JsonClient:
        client = JsonClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def api(client_for, user) -> JsonClient:
    return client_for(user)


@pytest.fixture
def other_api(client_for, other_user) -> JsonClient:
    return client_for(other_user)
