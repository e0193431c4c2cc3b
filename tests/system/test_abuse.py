"""The abuse suite (issue 11): the running lab probed as an attacker and a careless client would, over loopback.

One lab (no workers, no beat: nothing here needs training) with tight limits:

- schema-driven fuzzing (schemathesis, from the lab's own OpenAPI schema) of
  every write operation and every read, valid and invalid inputs, on the
  fuzzing user's own objects: no response is a 5xx;
- sign-in, token and sign-up throttles;
- the websocket origin matrix on the real server;
- size caps: bodies, query strings, headers, documents, a user's storage;
- ``check --deploy`` clean with production settings.

Bounded: a fixed number of examples per operation, derandomized; every
request goes to 127.0.0.1. The figures (requests sent, 5xx seen) go to
test-artifacts/abuse-figures.json. The Redis-kill recovery is in test_recovery.py.
"""

from __future__ import annotations

import json
import secrets
import socket
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy

from tests.support.lab_server import LabServer, _new_lab
from tests.system.helpers import launch, record_figures, tiny_overrides

if TYPE_CHECKING:  # schemathesis is imported when the fuzzing runs
    from schemathesis import Case

pytestmark = [pytest.mark.system, pytest.mark.slow, pytest.mark.abuse]

PASSWORD = "a-long-enough-password"
EXAMPLES_PER_WRITE = 60
EXAMPLES_PER_READ = 15
LIMITS = {
    "LAB_QUOTA_SEARCHES": "1000",
    "LAB_QUOTA_STORAGE_BYTES": "3000000",
    "LAB_MAX_DOCUMENT_BYTES": "65536",
    "LAB_LOGIN_FAILURES_PER_ACCOUNT": "5",
    "LAB_LOGIN_FAILURES_PER_CLIENT": "12",
    "LAB_SIGNUPS_PER_CLIENT": "3",
    # Each test below speaks for its own client address (X-Forwarded-For), as behind one proxy.
    "LAB_PROXY_HOPS": "1",
}


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = _new_lab(tmp_path_factory, env_overrides=LIMITS, args=["--no-worker", "--no-beat"])
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _token(lab: LabServer, username: str) -> str:
    response = httpx.post(f"{lab.base_url}/api/tokens/obtain", json={"username": username, "password": PASSWORD,
                                                                    "name": "abuse"}, timeout=30)
    assert response.status_code == 201, response.text
    return response.json()["secret"]


# --- fuzzing ------------------------------------------------------------------------


def test_fuzzing_every_operation_from_the_schema_gives_no_5xx(lab: LabServer) -> None:
    import schemathesis
    from schemathesis import GenerationMode

    user = lab.create_user(lab.unique_name("fuzz"), PASSWORD)
    secret = _token(lab, user.username)
    # Its own client address: the fuzzed sign-ins (POST /api/tokens/obtain) count against it, not 127.0.0.1.
    auth = {"Authorization": f"Bearer {secret}", "X-Forwarded-For": "100.64.0.1"}
    with httpx.Client(base_url=lab.base_url, headers=auth, timeout=30) as http:
        reference = http.get("/api/reference-layers").json()[0]["document"]
        layer = http.post("/api/layers", json={"name": "mine", "document": reference}).json()
        search = launch(http, name="mine", overrides=tiny_overrides())
        candidate = http.get(f"/api/searches/{search['id']}/candidates").json()["items"][0]
        token = http.post("/api/tokens", json={"name": "spare"}).json()
    own = {"layer_id": layer["id"], "version": 1, "search_id": search["id"], "candidate_id": candidate["id"],
           "token_id": token["id"]}

    schema = schemathesis.openapi.from_url(f"{lab.base_url}/api/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deletes last, so the objects the others act on exist while they run.
    operations.sort(key=lambda op: op.method.lower() == "delete")
    writes = [op for op in operations if op.method.lower() in ("post", "put", "patch", "delete")]
    assert len(writes) >= 12 and len(operations) >= 29, [f"{op.method} {op.path}" for op in operations]

    sent: dict[str, int] = {}
    server_errors: list[str] = []

    for op in operations:
        label = f"{op.method.upper()} {op.path}"
        is_write = op in writes
        path_params = {name: value for name, value in own.items() if "{" + name + "}" in op.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                strategy = op.as_strategy(generation_mode=mode, path_parameters=path_params or None)
            except Exception:  # noqa: BLE001 - an operation with nothing to make invalid
                continue

            _fuzz(strategy, label, EXAMPLES_PER_WRITE if is_write else EXAMPLES_PER_READ,
                  lambda case, label=label: _send(case, label, lab.base_url, auth, sent, server_errors))

    total = sum(sent.values())
    record_figures("schema_fuzzing", requests=total, operations=len(sent), write_operations=len(writes),
                   server_errors=len(server_errors), per_operation=sent)
    assert server_errors == [], server_errors[:20]
    assert {f"{op.method.upper()} {op.path}" for op in writes} <= set(sent), "a write operation was never fuzzed"
    assert total >= len(writes) * 20


def _fuzz(strategy: SearchStrategy[Case], label: str, examples: int, send: Callable[[Case], None]) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def probe(case: Case) -> None:
        send(case)

    probe()


def _send(case: Case, label: str, base_url: str, auth: dict, sent: dict, server_errors: list) -> None:
    response = case.call(base_url=base_url, headers=auth, timeout=30)
    sent[label] = sent.get(label, 0) + 1
    if response.status_code >= 500:
        server_errors.append(f"{label} {response.status_code} body={case.body!r:.300} "
                             f"query={case.query!r:.200} -> {response.text[:300]}")


# --- throttles ------------------------------------------------------------------------


def _form_login(lab: LabServer, username: str, password: str, client_ip: str) -> int:
    with httpx.Client(base_url=lab.base_url, timeout=30, headers={"X-Forwarded-For": client_ip}) as http:
        page = http.get("/accounts/login/")
        token = http.cookies["csrftoken"]
        response = http.post("/accounts/login/", data={"username": username, "password": password,
                                                       "csrfmiddlewaretoken": token})
        assert page.status_code == 200
        return response.status_code


def test_sign_in_is_throttled_per_account_and_per_client(lab: LabServer) -> None:
    user = lab.create_user(lab.unique_name("victim"), PASSWORD)
    statuses = [_form_login(lab, user.username, "wrong-guess", f"198.51.100.{i}") for i in range(5)]
    assert statuses == [200] * 5  # the form again: wrong password
    assert _form_login(lab, user.username, PASSWORD, "198.51.100.99") == 429  # right password, locked account
    obtained = httpx.post(f"{lab.base_url}/api/tokens/obtain", timeout=30, headers={"X-Forwarded-For": "198.51.100.98"},
                          json={"username": user.username, "password": PASSWORD, "name": "x"})
    assert obtained.status_code == 429 and int(obtained.headers["Retry-After"]) > 0
    assert obtained.json()["error"]["code"] == "throttled"

    # One client spraying guesses over many accounts.
    sprayer = "203.0.113.50"
    codes = [httpx.post(f"{lab.base_url}/api/tokens/obtain", timeout=30, headers={"X-Forwarded-For": sprayer},
                        json={"username": f"nobody{i}", "password": "guess", "name": "x"}).status_code
             for i in range(12)]
    assert codes == [401] * 12
    other = lab.create_user(lab.unique_name("bystander"), PASSWORD)
    assert _form_login(lab, other.username, PASSWORD, sprayer) == 429
    assert _form_login(lab, other.username, PASSWORD, "203.0.113.51") == 302
    record_figures("throttles", account_limit=5, client_limit=12, wrong_guesses_before_lock=5)


def test_sign_up_is_throttled_per_client(lab: LabServer) -> None:
    def signup(name: str, client_ip: str) -> int:
        with httpx.Client(base_url=lab.base_url, timeout=30, headers={"X-Forwarded-For": client_ip}) as http:
            http.get("/accounts/signup/")
            return http.post("/accounts/signup/", data={
                "username": name, "password1": PASSWORD, "password2": PASSWORD,
                "csrfmiddlewaretoken": http.cookies["csrftoken"]}).status_code

    codes = [signup(lab.unique_name("spam"), "192.0.2.10") for _ in range(4)]
    assert codes == [302, 302, 302, 429]
    assert signup(lab.unique_name("ok"), "192.0.2.11") == 302


# --- websocket origins ---------------------------------------------------------------


def test_websocket_origin_matrix_on_the_real_server(lab: LabServer) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    user = lab.create_user(lab.unique_name("ws"), PASSWORD)
    http = lab.client(user)
    search = launch(http, name="ws", overrides=tiny_overrides())
    path = f"{lab.ws_url}/ws/searches/{search['id']}/?after=0"
    port = lab.port
    matrix = {
        lab.base_url: True,
        f"http://127.0.0.1:{port + 1}": False,
        "http://localhost:9999": False,
        f"https://127.0.0.1:{port}": False,
        f"http://localhost:{port}": False,
        "http://evil.example": False,
        "null": False,
    }
    outcome = {}
    for origin, expected in matrix.items():
        try:
            with connect(path, additional_headers=lab.ws_headers(http), origin=origin, open_timeout=20) as ws:
                first = json.loads(ws.recv(timeout=20))
                outcome[origin] = first.get("seq") == 1
        except InvalidStatus as exc:
            assert exc.response.status_code == 403, (origin, exc.response.status_code)
            outcome[origin] = False
        assert outcome[origin] is expected, (origin, outcome)
    http.close()


# --- sizes -------------------------------------------------------------------------------


def _raw(lab: LabServer, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", lab.port), timeout=30) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def test_size_caps(lab: LabServer) -> None:
    user = lab.create_user(lab.unique_name("big"), PASSWORD)
    http = httpx.Client(base_url=lab.base_url, timeout=60,
                        headers={"Authorization": f"Bearer {_token(lab, user.username)}"})
    reference = http.get("/api/reference-layers").json()[0]["document"]
    # A body over LAB_MAX_REQUEST_BYTES (1 MiB), with and without Content-Length.
    big = json.dumps({"name": "x", "document": {**reference, "ui": {"pad": "x" * 1_200_000}}})
    assert http.post("/api/layers", content=big, headers={"Content-Type": "application/json"}).status_code == 413
    chunked = http.post("/api/layers", content=iter([big.encode()[i:i + 65536]
                                                       for i in range(0, len(big), 65536)]),
                        headers={"Content-Type": "application/json"})
    assert chunked.status_code == 413, chunked.text[:200]
    # A number past a double, deep nesting.
    assert http.post("/api/layers", content='{"name": "x", "document": {"ui": 1e999}}',
                     headers={"Content-Type": "application/json"}).status_code == 400
    deep = '{"document": ' + "[" * 50_000 + "]" * 50_000 + "}"
    assert http.post("/api/layers/validate", content=deep, headers={"Content-Type": "application/json"}).status_code == 400
    # Request line and header lines past 16 KiB are answered, not dropped.
    assert _raw(lab, b"GET /api/me?q=" + b"a" * 60_000 + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").startswith(
        b"HTTP/1.1 414 ")
    assert _raw(lab, b"GET /api/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: " + b"a" * 60_000 + b"\r\n\r\n").startswith(
        b"HTTP/1.1 431 ")
    # A document over LAB_MAX_DOCUMENT_BYTES (64 KiB here), then the user's storage (3 MB here).
    too_big = http.post("/api/layers", json={"name": "x", "document": {**reference, "ui": {"p": "x" * 70_000}}})
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_large"
    layer = http.post("/api/layers", json={"name": "x", "document": {**reference, "ui": {"p": "x" * 60_000}}})
    assert layer.status_code == 201
    saves = 1
    while True:
        # each save changes the graph (eps): a save that only changes the layout adds no version
        response = http.put(f"/api/layers/{layer.json()['id']}",
                            json={"name": "x", "document": {**reference, "eps": 1e-5 * (saves + 1),
                                                            "ui": {"p": "x" * 60_000}}})
        if response.status_code != 200:
            break
        saves += 1
        assert saves < 100, "no storage cap"
    assert response.status_code == 413 and response.json()["error"]["code"] == "storage_full"
    record_figures("size_caps", saves_of_60kb_before_storage_full=saves, storage_limit_bytes=3_000_000)
    http.close()


def test_check_deploy_is_clean_with_production_settings(lab: LabServer) -> None:
    out = lab.manage("check", "--deploy", "--fail-level", "WARNING", extra_env={
        "LAB_HTTPS": "true", "LAB_SECRET_KEY": secrets.token_urlsafe(50), "LAB_ALLOWED_HOSTS": "lab.example.org",
        "LAB_DEBUG": "false"})
    assert "no issues" in out


def test_the_server_logged_no_internal_error(lab: LabServer) -> None:
    """Runs last: whatever the tests above sent, Django never logged a 500 (nor daphne an exception)."""
    log = lab.log_text()
    assert "Internal Server Error" not in log
    assert "Exception inside application" not in log
