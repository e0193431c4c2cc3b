"""Issue 11, item 7: a deployment behind an HTTPS proxy passes ``check --deploy`` cleanly; every response has a CSP."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

import pytest
from django.test import Client

from tests.support.lab_server import REPO_ROOT

PRODUCTION = {
    "LAB_HTTPS": "true",
    "LAB_DEBUG": "false",
    "LAB_ALLOWED_HOSTS": "lab.example.org",
    "LAB_CSRF_TRUSTED_ORIGINS": "https://lab.example.org",
}


def _manage(tmp_path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("LAB_")}
    full = {**base, "LAB_VAR_DIR": str(tmp_path), "LAB_SECRET_KEY": secrets.token_urlsafe(50), **env}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=full, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.subprocess
def test_check_deploy_with_production_settings_has_no_warning(tmp_path) -> None:
    done = _manage(tmp_path, PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout and "WARNINGS" not in done.stderr + done.stdout


@pytest.mark.subprocess
def test_without_https_settings_check_deploy_warns(tmp_path) -> None:
    env = {k: v for k, v in PRODUCTION.items() if k != "LAB_HTTPS"}
    done = _manage(tmp_path, env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in done.stderr + done.stdout


@pytest.mark.subprocess
def test_each_https_part_can_be_set_on_its_own(tmp_path) -> None:
    code = ("from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, "
            "s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_PRELOAD, s.SECURE_PROXY_SSL_HEADER)")
    done = _manage(tmp_path, {"LAB_HTTPS": "true", "LAB_HSTS_SECONDS": "600", "LAB_HSTS_PRELOAD": "false",
                              "LAB_PROXY_SSL_HEADER": "X-Scheme"}, "shell", "--no-imports", "-c", code)
    assert done.stdout.split() == ["True", "True", "True", "600", "False", "('HTTP_X_SCHEME',", "'https')"], done
    done = _manage(tmp_path, {"LAB_SECURE_COOKIES": "true"}, "shell", "--no-imports", "-c", code)
    assert done.stdout.split() == ["False", "True", "True", "0", "False", "None"], done


@pytest.mark.django_db
def test_https_redirect_trusts_only_the_proxys_header(settings) -> None:
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    plain = Client().get("/accounts/login/")
    assert plain.status_code == 301 and plain["Location"] == "https://testserver/accounts/login/"
    proxied = Client().get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert proxied.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/", "/api/docs", "/api/me", "/admin/login/",
                                  "/", "/no-such-page"])
def test_every_response_carries_the_content_security_policy(path, settings) -> None:
    response = Client().get(path)
    policy = response.get("Content-Security-Policy", "")
    assert policy == settings.LAB_CSP
    assert "script-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-eval" not in policy and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
