"""Server-rendered pages: the single-page app's shell and the account pages."""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.views.decorators.csrf import ensure_csrf_cookie

from webapp.forms import ThrottledAuthenticationForm
from webapp.services.throttle import Throttled, client_address, signup_check, signup_record

log = logging.getLogger(__name__)

ENTRY = "src/main.tsx"


class FrontendNotBuilt(Exception):
    pass


@lru_cache(maxsize=4)
def _read_manifest(path: str, mtime: float) -> dict:
    return json.loads(Path(path).read_text())


def frontend_assets() -> dict:
    """Script and stylesheet URLs of the Vite entry, from ``FRONTEND_DIST/.vite/manifest.json``."""
    path = Path(settings.FRONTEND_DIST) / ".vite" / "manifest.json"
    try:
        manifest = _read_manifest(str(path), path.stat().st_mtime)
    except (OSError, ValueError) as exc:
        raise FrontendNotBuilt(f"cannot read {path}: {exc}") from exc
    entry = manifest.get(ENTRY)
    if not isinstance(entry, dict) or "file" not in entry:
        raise FrontendNotBuilt(f"{path} has no entry {ENTRY!r}")
    css = list(entry.get("css", []))
    for name in entry.get("imports", []):
        css.extend(manifest.get(name, {}).get("css", []))
    static = settings.STATIC_URL
    return {"script": static + entry["file"], "css": [static + c for c in dict.fromkeys(css)]}


@login_required
@ensure_csrf_cookie
def spa(request: HttpRequest) -> HttpResponse:
    try:
        assets = frontend_assets()
    except FrontendNotBuilt as exc:
        log.error("frontend not built: %s", exc)
        return render(request, "webapp/frontend_missing.html", {"detail": str(exc)}, status=503)
    return render(request, "webapp/app.html", {"assets": assets})


@ensure_csrf_cookie
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    form = UserCreationForm(request.POST or None)
    if request.method == "POST":
        client = client_address(request)
        try:
            signup_check(client=client)
        except Throttled as exc:
            form.add_error(None, exc.message)
            return render(request, "registration/signup.html", {"form": form}, status=429)
        if form.is_valid():
            user = form.save()
            signup_record(client=client)
            login(request, user, backend="webapp.auth_backends.ThrottledModelBackend")
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "registration/signup.html", {"form": form}, status=400 if form.errors else 200)


class LabLoginView(LoginView):
    redirect_authenticated_user = True
    form_class = ThrottledAuthenticationForm

    def form_invalid(self, form: ThrottledAuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response


class LabLogoutView(LogoutView):
    pass


def favicon(request: HttpRequest) -> HttpResponse:
    """``/favicon.ico`` for pages without an icon link (API docs, the admin): the lab's icon."""
    return redirect(static("webapp/favicon.svg"), permanent=True)
