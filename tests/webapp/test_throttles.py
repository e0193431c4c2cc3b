"""Issue 11, items 2 and 9: sign-in throttled per account and per client, sign-up per client, tokens for scripts.

Counters are real (the Redis of the settings); the clients are Django's test
client with a chosen ``REMOTE_ADDR``.
"""

from __future__ import annotations

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def _login(username: str, password: str, *, ip: str = "10.1.1.1") -> tuple[int, Client, str]:
    client = Client(REMOTE_ADDR=ip)
    response = client.post("/accounts/login/", {"username": username, "password": password})
    return response.status_code, client, response.content.decode()


def _signed_in(client: Client) -> bool:
    return client.get("/api/me").status_code == 200


def test_the_right_password_is_refused_after_too_many_wrong_ones(user, settings) -> None:
    settings.LAB_LOGIN_FAILURES_PER_ACCOUNT = 5
    for _ in range(5):
        status, _client, _ = _login("alice", "wrong-password")
        assert status == 200  # the form again, "wrong username or password"
    status, client, page = _login("alice", PASSWORD)
    assert status == 429
    assert "Too many failed sign-ins for this account" in page and "minutes" in page
    assert not _signed_in(client)
    # From another address too: the limit is the account's.
    status, client, _ = _login("alice", PASSWORD, ip="10.9.9.9")
    assert status == 429 and not _signed_in(client)
    # The username's case does not make a fresh account to guess at.
    assert _login("ALICE", PASSWORD)[0] == 429


def test_a_success_clears_the_accounts_failures(user, settings) -> None:
    settings.LAB_LOGIN_FAILURES_PER_ACCOUNT = 3
    for _ in range(2):
        for _ in range(2):
            assert _login("alice", "wrong-password")[0] == 200
        status, client, _ = _login("alice", PASSWORD)
        assert status == 302 and _signed_in(client)


def test_one_client_guessing_at_many_accounts_is_stopped(make_user, settings) -> None:
    settings.LAB_LOGIN_FAILURES_PER_ACCOUNT = 100
    settings.LAB_LOGIN_FAILURES_PER_CLIENT = 4
    for i in range(4):
        assert _login(f"nobody{i}", "guess", ip="10.2.2.2")[0] == 200
    victim = make_user("victim")
    status, client, page = _login(victim.username, PASSWORD, ip="10.2.2.2")
    assert status == 429 and "from your address" in page and not _signed_in(client)
    # Another client is not affected.
    status, client, _ = _login(victim.username, PASSWORD, ip="10.3.3.3")
    assert status == 302 and _signed_in(client)


def test_behind_a_proxy_the_forwarded_address_is_the_client(make_user, settings) -> None:
    settings.LAB_LOGIN_FAILURES_PER_ACCOUNT = 100
    settings.LAB_LOGIN_FAILURES_PER_CLIENT = 2
    settings.LAB_PROXY_HOPS = 1
    make_user("bob")
    for _ in range(2):
        response = Client(REMOTE_ADDR="127.0.0.1").post(
            "/accounts/login/", {"username": "x", "password": "y"}, HTTP_X_FORWARDED_FOR="198.51.100.7")
        assert response.status_code == 200
    blocked = Client(REMOTE_ADDR="127.0.0.1").post(
        "/accounts/login/", {"username": "bob", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert blocked.status_code == 429
    # Same proxy, another client behind it: signs in.
    other = Client(REMOTE_ADDR="127.0.0.1")
    ok = other.post("/accounts/login/", {"username": "bob", "password": PASSWORD},
                    HTTP_X_FORWARDED_FOR="198.51.100.8")
    assert ok.status_code == 302


def test_the_admin_sign_in_is_throttled_too(django_user_model, settings) -> None:
    settings.LAB_LOGIN_FAILURES_PER_ACCOUNT = 2
    django_user_model.objects.create_superuser("root", password=PASSWORD)
    client = Client(REMOTE_ADDR="10.4.4.4")
    for _ in range(2):
        client.post("/admin/login/", {"username": "root", "password": "nope"})
    response = client.post("/admin/login/", {"username": "root", "password": PASSWORD})
    assert b"Too many failed sign-ins" in response.content
    assert client.get("/admin/").status_code == 302  # still signed out


def _signup(client: Client, username: str):
    return client.post("/accounts/signup/", {"username": username, "password1": "a-long-pass-123",
                                             "password2": "a-long-pass-123"})


def test_sign_up_is_limited_per_client(settings) -> None:
    settings.LAB_SIGNUPS_PER_CLIENT = 2
    for i in range(2):
        assert _signup(Client(REMOTE_ADDR="10.5.5.5"), f"new{i}").status_code == 302
    refused = _signup(Client(REMOTE_ADDR="10.5.5.5"), "new2")
    assert refused.status_code == 429
    assert b"Too many accounts were created from your address" in refused.content
    assert not get_user_model().objects.filter(username="new2").exists()
    assert _signup(Client(REMOTE_ADDR="10.6.6.6"), "new3").status_code == 302


def test_sign_up_errors_do_not_use_up_the_allowance(settings) -> None:
    settings.LAB_SIGNUPS_PER_CLIENT = 1
    for _ in range(3):
        bad = Client(REMOTE_ADDR="10.7.7.7").post("/accounts/signup/", {"username": "x", "password1": "a",
                                                                         "password2": "b"})
        assert bad.status_code == 400
    assert _signup(Client(REMOTE_ADDR="10.7.7.7"), "finally").status_code == 302


# --- tokens without a browser ---------------------------------------------------------


def _obtain(username: str, password: str, *, ip: str = "10.8.8.8"):
    return Client(REMOTE_ADDR=ip).post("/api/tokens/obtain", {"username": username, "password": password,
                                                              "name": "ci"}, content_type="application/json")


def test_a_script_obtains_a_token_with_credentials_and_uses_it(user) -> None:
    response = _obtain("alice", PASSWORD)
    assert response.status_code == 201, response.content
    secret = response.json()["secret"]
    assert secret.startswith("lab_") and response.json()["name"] == "ci"
    me = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_the_token_endpoint_refuses_wrong_credentials_and_is_throttled_like_sign_in(user, settings) -> None:
    settings.LAB_LOGIN_FAILURES_PER_ACCOUNT = 3
    wrong = _obtain("alice", "nope")
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_credentials"
    assert _login("alice", "nope")[0] == 200  # the form's failures count for the same account
    assert _obtain("alice", "nope").status_code == 401
    throttled = _obtain("alice", PASSWORD)
    assert throttled.status_code == 429
    assert throttled.json()["error"]["code"] == "throttled"
    assert "Too many failed sign-ins" in throttled.json()["error"]["message"]
    assert 0 < int(throttled["Retry-After"]) <= settings.LAB_LOGIN_WINDOW
    assert _login("alice", PASSWORD)[0] == 429


def test_create_token_command_prints_a_working_secret(user) -> None:
    out = io.StringIO()
    call_command("create_token", "alice", "--name", "nightly", stdout=out)
    secret = out.getvalue().strip()
    me = Client().get("/api/me", HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert me.status_code == 200 and me.json()["username"] == "alice"


def test_create_token_command_names_an_unknown_user() -> None:
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="no active user 'ghost'"):
        call_command("create_token", "ghost")
