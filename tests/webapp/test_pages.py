"""Server-rendered pages: account pages, the app shell with the Vite entry, the built-or-not check."""

from __future__ import annotations

import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_signup_signs_in_and_redirects():
    client = Client()
    assert client.get("/accounts/signup/").status_code == 200
    r = client.post("/accounts/signup/", {"username": "newbie", "password1": "a-long-pass-123",
                                          "password2": "a-long-pass-123"})
    assert r.status_code == 302 and r["Location"] == "/"
    assert client.get("/api/me").json()["username"] == "newbie"


def test_signup_errors_rerender():
    r = Client().post("/accounts/signup/", {"username": "x", "password1": "a", "password2": "b"})
    assert r.status_code == 400 and b"errorlist" in r.content


def test_login_and_logout(user):
    client = Client()
    assert client.get("/accounts/login/").status_code == 200
    r = client.post("/accounts/login/", {"username": "alice", "password": "correct-horse-battery"})
    assert r.status_code == 302
    assert client.get("/api/me").status_code == 200
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/api/me").status_code == 401


def test_a_signed_out_visitor_reads_what_the_lab_is_next_to_the_form():
    html = Client().get("/accounts/login/").content.decode()
    assert "Design and discover normalization-activation layers" in html
    assert 'name="password"' in html and 'rel="icon"' in html


def test_the_favicon_is_served(client_for, user, built_frontend):
    r = Client().get("/favicon.ico")
    assert r.status_code == 301 and r["Location"] == "/static/webapp/favicon.svg"
    assert 'rel="icon" type="image/svg+xml" href="/static/webapp/favicon.svg"' in client_for(user).get("/").content.decode()


@pytest.mark.parametrize("path", ["/", "/layers/", "/editor/", "/editor/3/", "/searches/", "/searches/new/",
                                  "/searches/7/", "/candidates/9/"])
def test_spa_routes_need_login(path):
    r = Client().get(path)
    assert r.status_code == 302 and r["Location"].startswith("/accounts/login/")


@pytest.fixture
def built_frontend(tmp_path, settings):
    (tmp_path / ".vite").mkdir()
    (tmp_path / ".vite" / "manifest.json").write_text(json.dumps({
        "src/main.tsx": {"file": "assets/main-abc.js", "isEntry": True, "css": ["assets/main-abc.css"],
                         "imports": ["_shared.js"]},
        "_shared.js": {"file": "assets/shared.js", "css": ["assets/shared.css"]},
    }))
    settings.FRONTEND_DIST = tmp_path
    return tmp_path


@pytest.mark.parametrize("path", ["/", "/searches/7/", "/editor/"])
def test_spa_mounts_vite_entry(client_for, user, built_frontend, path):
    r = client_for(user).get(path)
    assert r.status_code == 200
    html = r.content.decode()
    assert 'src="/static/assets/main-abc.js"' in html and 'type="module"' in html
    assert 'href="/static/assets/main-abc.css"' in html and 'href="/static/assets/shared.css"' in html
    assert 'id="root"' in html and 'data-username="alice"' in html
    assert "csrftoken" in r.cookies


def test_frontend_not_built_is_a_clear_page(client_for, user, tmp_path, settings):
    settings.FRONTEND_DIST = tmp_path / "missing"
    r = client_for(user).get("/")
    assert r.status_code == 503 and b"has not been built" in r.content


def test_api_docs_and_schema_are_published(client_for, user):
    client = client_for(user)
    schema = client.get("/api/openapi.json")
    assert schema.status_code == 200 and "/api/layers" in schema.json()["paths"]
    assert client.get("/api/docs").status_code == 200


def test_admin_lists_every_model(client_for, django_user_model):
    admin = django_user_model.objects.create_superuser("root", "r@example.com", "pw-pw-pw-pw")
    client = client_for(admin)
    for model in ["layer", "layerversion", "search", "candidate", "rerankjob", "event", "apitoken", "userquota"]:
        assert client.get(f"/admin/webapp/{model}/").status_code == 200, model
