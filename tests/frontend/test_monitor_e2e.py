"""End to end in headless Chromium: launch a cpu-quick search from the form,
watch the monitor fill live, drop its websocket and see it reconnect with no
candidate missing, then download the best layer and run it.

Screenshots go to test-artifacts/monitor-*.png:
  monitor-launch.png   the launch form filled in (cpu-quick with small overrides)
  monitor-running.png  the monitor while the search runs (rows arriving)
  monitor-reconnect.png  the monitor right after the websocket came back
  monitor-final.png    the monitor when the budget is spent (chart, feed, table)
  monitor-candidate.png  the best candidate's page (graph, scores, curves, lineage)
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts"
BUDGET = 6
ARCHS = ("resnet50", "mobilenetv2")


@pytest.fixture(scope="module")
def monitor_browser():
    """Debian's Chromium, headless (never a downloaded browser)."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "the browser tests need Chromium: run `make browser`"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def _sign_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/accounts/login/?next=/searches/new/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form button[type=submit], form input[type=submit]").first.click()
    page.wait_for_url("**/searches/new/**")


def _table_ids(page: Page) -> list[int]:
    ids = page.eval_on_selector_all(
        ".cand-scroll [data-candidate-id]", "rows => rows.map(r => Number(r.dataset.candidateId))"
    )
    return sorted(ids)


def _api_candidate_ids(page: Page, base_url: str, search_id: int) -> list[int]:
    ids: list[int] = []
    page_no = 1
    while True:
        res = page.request.get(f"{base_url}/api/searches/{search_id}/candidates?page={page_no}&page_size=100")
        assert res.ok, res.text()
        body = res.json()
        ids += [c["id"] for c in body["items"]]
        if not body["items"] or len(ids) >= body["count"]:
            return sorted(ids)
        page_no += 1


def _finished(page: Page) -> int:
    text = page.get_by_test_id("finished-count").inner_text()
    return int(text.split("/")[0].strip())


def test_launch_watch_reconnect_download(lab_server, monitor_browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    started = time.monotonic()
    name = lab_server.unique_name("mon")
    user = lab_server.create_user(name, "pw-" + name)
    context = monitor_browser.new_context(viewport={"width": 1440, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    page.on("dialog", lambda d: d.accept())
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        base = lab_server.base_url
        _sign_in(page, base, user.username, user.password)

        # -- the launch form: cpu-quick, small overrides, two seeds that pass the gates
        page.get_by_role("radio", name="cpu-quick").check()
        form = page.get_by_role("form", name="Launch a search")
        expect(form).to_be_visible()
        page.get_by_label("Name", exact=True).fill("e2e monitor")
        # a bad value is caught before anything is sent
        page.get_by_label("Budget (candidates)").fill("0")
        page.get_by_role("button", name="Start search").click()
        expect(page.locator("#f-budget-error")).to_contain_text("between")
        assert "/searches/new/" in page.url

        page.get_by_label("Budget (candidates)").fill(str(BUDGET))
        page.get_by_label("Population", exact=True).fill("4")
        page.get_by_label("Tournament size").fill("2")
        page.get_by_label("Training steps").fill("60")
        page.get_by_label("Random seed").fill("7")
        for arch in ("resnet50", "mobilenetv2", "efficientnet_b0"):
            box = page.get_by_role("checkbox", name=arch, exact=True)
            box.set_checked(arch in ARCHS)
        refs = page.get_by_role("group", name="Reference layers")
        refs.get_by_role("checkbox").first.wait_for()
        for label in ("BN-ReLU", "EvoNorm-B0"):
            box = refs.get_by_role("checkbox", name=label)
            if box.count():
                box.first.check()
        page.screenshot(path=str(ARTIFACTS / "monitor-launch.png"), full_page=True)
        page.get_by_role("button", name="Start search").click()
        page.wait_for_url("**/searches/*/")
        search_id = int(page.url.rstrip("/").split("/")[-1])

        # -- the monitor connects and fills live
        conn = page.get_by_test_id("connection-state")
        expect(conn).to_have_attribute("data-state", "connected", timeout=30_000)
        page.wait_for_selector(".cand-scroll [data-candidate-id]", timeout=60_000)
        status = page.get_by_test_id("search-status").inner_text()
        assert status in ("queued", "running"), status
        rows_while_running = len(_table_ids(page))
        assert rows_while_running >= 1
        # wait for a first finished candidate while the search still runs
        page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=finished-count]').textContent.split('/')[0]) >= 1",
            timeout=120_000,
        )
        finished_before_drop = _finished(page)
        assert finished_before_drop < BUDGET, "the search finished before the drop could be tested"
        page.screenshot(path=str(ARTIFACTS / "monitor-running.png"), full_page=True)

        # -- kill the websocket; stay offline 4 s so events are missed and must be replayed
        seq_before = page.evaluate("() => window.__labStream.lastSeq")
        page.evaluate("() => window.__labStream.dropConnection(4000)")
        expect(conn).to_have_attribute("data-state", "reconnecting", timeout=5_000)
        expect(conn).to_have_attribute("data-state", "connected", timeout=30_000)
        assert page.evaluate("() => window.__labStream.connections") >= 2
        page.screenshot(path=str(ARTIFACTS / "monitor-reconnect.png"), full_page=True)

        # -- the budget is spent; the table holds exactly the server's candidates
        page.wait_for_function(
            f"() => Number(document.querySelector('[data-testid=finished-count]').textContent.split('/')[0]) >= {BUDGET}",
            timeout=150_000,
        )
        assert page.evaluate("() => window.__labStream.lastSeq") > seq_before
        # no event lost: the client's view equals a fresh read of the server
        api_ids = _api_candidate_ids(page, base, search_id)
        page.wait_for_function(
            f"() => document.querySelectorAll('.cand-scroll [data-candidate-id]').length >= {len(api_ids)}",
            timeout=10_000,
        )
        assert _table_ids(page) == api_ids
        assert sorted(page.evaluate("() => window.__labStream.candidateIds")) == api_ids
        for status_name in ("evaluated", "rejected", "failed", "lost"):
            server = page.request.get(
                f"{base}/api/searches/{search_id}/candidates?status={status_name}&page_size=1"
            ).json()["count"]
            expect(page.get_by_test_id(f"count-{status_name}")).to_have_text(str(server))
        chart = page.locator(".pareto .chart")
        points = int(chart.get_attribute("data-points") or "0")
        assert points >= 1, "no evaluated candidate reached the Pareto chart"
        assert chart.get_attribute("data-front"), "the front is empty"
        page.screenshot(path=str(ARTIFACTS / "monitor-final.png"), full_page=True)

        # -- the best layer: open it, download its .py, import it and run it
        page.get_by_test_id("best-link").click()
        page.wait_for_url("**/candidates/*/")
        expect(page.get_by_role("heading", name="Training curves")).to_be_visible()
        page.wait_for_timeout(500)  # let the curves draw
        page.screenshot(path=str(ARTIFACTS / "monitor-candidate.png"), full_page=True)
        with page.expect_download() as info:
            page.get_by_test_id("download-py").click()
        target = tmp_path / "best_layer.py"
        info.value.save_as(target)
        _run_exported_layer(target)

        # leave the shared lab idle: stop the search (re-ranking would keep workers busy)
        page.go_back()
        stop = page.get_by_role("button", name="Stop")
        if stop.is_enabled():
            stop.click()
        assert not errors, errors
        assert time.monotonic() - started < 300
    finally:
        context.close()


def _run_exported_layer(path: Path) -> None:
    import torch

    spec = importlib.util.spec_from_file_location("best_layer_e2e", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        classes = [
            v for v in vars(module).values()
            if isinstance(v, type) and issubclass(v, torch.nn.Module) and v.__module__ == module.__name__
        ]
        assert classes, "the export defines no nn.Module"
        layer = classes[0](16)
        x = torch.randn(4, 16, 8, 8)
        y = layer(x)
        assert y.shape == x.shape
        assert torch.isfinite(y).all()
    finally:
        sys.modules.pop(spec.name, None)
