"""Over the network: a real daphne process, a browser-like HTTP sign-in and a real websocket client.

The search is created in the test process (its task sends are recorded, not
put on the shared broker); everything the client does goes through daphne.
"""

from __future__ import annotations

import json

import httpx
import pytest
from channels.testing import ChannelsLiveServerTestCase
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from tests.webapp.helpers import make_search, queued_ids, run_one
from tests.webapp.spawned_daphne import SpawnedDaphneProcess
from webapp.models import Event

pytestmark = pytest.mark.subprocess  # a spawned Daphne

PASSWORD = "live-server-pass-1"


class LiveServerTests(ChannelsLiveServerTestCase):
    serve_static = False  # webapp.asgi already serves /static/
    ProtocolServerProcess = SpawnedDaphneProcess

    def _signed_in(self, username: str) -> httpx.Client:
        user = get_user_model().objects.create_user(username)
        # The server process keeps the default hashers (tests here use a fast one).
        user.password = PBKDF2PasswordHasher().encode(PASSWORD, PBKDF2PasswordHasher().salt())
        user.save(update_fields=["password"])
        http = httpx.Client(base_url=self.live_server_url, timeout=20)
        http.get("/accounts/login/")
        r = http.post("/accounts/login/", data={"username": username, "password": PASSWORD,
                                                "csrfmiddlewaretoken": http.cookies["csrftoken"]},
                      headers={"Referer": self.live_server_url + "/accounts/login/"})
        assert r.status_code == 302, r.text
        return http

    def _ws(self, http: httpx.Client, search_id: int, after: int = 0):
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        return connect(f"{self.live_server_ws_url}/ws/searches/{search_id}/?after={after}",
                       additional_headers={"Cookie": cookie, "Origin": self.live_server_url}, open_timeout=20)

    def test_sign_in_api_and_event_stream_over_the_network(self):
        http = self._signed_in("live")
        me = http.get("/api/me").json()
        search = make_search(get_user_model().objects.get(pk=me["id"]), parallel=2)
        stored = list(Event.objects.filter(search=search).order_by("seq").values_list("seq", flat=True))

        detail = http.get(f"/api/searches/{search.pk}").json()
        assert detail["status"] == "running" and detail["last_seq"] == stored[-1]
        with self._ws(http, search.pk) as ws:
            replay = [json.loads(ws.recv(timeout=20)) for _ in stored]
            assert [e["seq"] for e in replay] == stored
            run_one(queued_ids(search)[0])  # a worker's report, pushed through Redis to daphne
            now = list(Event.objects.filter(search=search).order_by("seq").values_list("seq", flat=True))
            live = [json.loads(ws.recv(timeout=20)) for _ in now[len(stored):]]
            assert [e["seq"] for e in live] == now[len(stored):]
            ws.send(json.dumps({"type": "ping"}))
            assert json.loads(ws.recv(timeout=20)) == {"type": "pong"}

        # a reconnect after the last seen event gets only what came later
        r = http.post(f"/api/searches/{search.pk}/control", json={"action": "pause"},
                      headers={"X-CSRFToken": http.cookies["csrftoken"]})
        assert r.status_code == 200 and r.json()["status"] == "paused", r.text
        with self._ws(http, search.pk, after=now[-1]) as ws:
            event = json.loads(ws.recv(timeout=20))
            assert event["seq"] == now[-1] + 1 and event["payload"]["status"] == "paused"
        http.close()

    def test_another_users_socket_is_closed_4404_and_anonymous_4401(self):
        owner = get_user_model().objects.create_user("owner")
        search = make_search(owner)
        intruder = self._signed_in("intruder")
        with self._ws(intruder, search.pk) as ws:
            try:
                ws.recv(timeout=20)
                raise AssertionError("expected the server to close the socket")
            except ConnectionClosedError as closed:
                assert closed.rcvd.code == 4404
        anonymous = httpx.Client(base_url=self.live_server_url)
        with self._ws(anonymous, search.pk) as ws:
            try:
                ws.recv(timeout=20)
                raise AssertionError("expected the server to close the socket")
            except ConnectionClosedError as closed:
                assert closed.rcvd.code == 4401
        assert intruder.get(f"/api/searches/{search.pk}").status_code == 404
        intruder.close()
