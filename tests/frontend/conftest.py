"""Browser fixtures for the front-end end-to-end tests.

Headless Debian Chromium driven by Playwright's sync API (never a downloaded
browser), one page per test, a screenshot in ``test-artifacts/`` when a test
fails, and helpers to sign up or sign in through the real forms.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
VIEWPORT = {"width": 1600, "height": 950}


def chromium_path() -> str:
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "the browser tests need Chromium: run `make browser`"
    return executable


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium_path(),
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(chromium: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context and page; on failure its screenshot lands in test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport=VIEWPORT, accept_downloads=True)
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.page_errors = errors  # type: ignore[attr-defined]
    yield pg
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        name = request.node.name.replace("/", "_")
        try:
            pg.screenshot(path=str(ARTIFACTS / f"failed-{name}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a dead page must not hide the real failure
            pass
    context.close()


def sign_up(page: Page, base_url: str, username: str, password: str = "a-Long-pass-123") -> None:
    """Create an account through the sign-up form and land signed in."""
    page.goto(f"{base_url}/accounts/signup/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password1]", password)
    page.fill("input[name=password2]", password)
    page.locator("form button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    if "/accounts/" in page.url:  # some setups send the new user to the sign-in form
        sign_in(page, base_url, username, password)


def sign_in(page: Page, base_url: str, username: str, password: str, next_path: str = "/") -> None:
    page.goto(f"{base_url}/accounts/login/?next={next_path}")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/login" not in url)


def api_post(page: Page, base_url: str, path: str, body: dict) -> dict:
    """POST JSON to the API as the page's signed-in user (session cookie and CSRF header)."""
    token = next((c["value"] for c in page.context.cookies() if c["name"] == "csrftoken"), "")
    res = page.request.post(f"{base_url}{path}", data=body, headers={"X-CSRFToken": token})
    assert res.ok, f"POST {path}: {res.status} {res.text()}"
    return res.json()


# Tiny anchors, open gates and a subsample: a candidate trains in seconds on a CPU.
TINY_EVAL = {"dataset": "synthetic", "steps": 10, "width": 0.125, "depth": 0.25, "quality_steps": 1,
             "quality_threshold": 0.0, "stability_steps": 0, "batch_size": 16, "eval_batch_size": 64,
             "train_examples": 256, "val_examples": 128, "progress_every": 2,
             "architectures": ["resnet50", "mobilenetv2"]}


def fill_tiny_eval(page: Page, **extra_eval: object) -> None:
    """On the launch form: TINY_EVAL through the form's own fields (steps, data set,
    anchors) and the rest, with ``extra_eval``, as the advanced JSON overrides."""
    page.get_by_label("Training steps").fill(str(TINY_EVAL["steps"]))
    page.get_by_label("Data set").select_option(TINY_EVAL["dataset"])
    for arch in ("resnet50", "mobilenetv2", "efficientnet_b0"):
        page.get_by_role("checkbox", name=arch, exact=True).set_checked(arch in TINY_EVAL["architectures"])
    page.get_by_text("Advanced overrides").click()
    rest = {k: v for k, v in TINY_EVAL.items() if k not in ("steps", "dataset", "architectures")}
    page.get_by_label("More settings (JSON)").fill(json.dumps({"eval": {**rest, **extra_eval}}))
