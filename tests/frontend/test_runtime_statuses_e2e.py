"""End to end in headless Chromium: the launch form says honestly what runs at once on this lab
and how long it takes, and a stopped search says it was stopped.

Screenshots (test-artifacts/):
  runtime-no-measurement.png  the launch form before anything ran with its settings: what trains at once, no made-up time
  runtime-estimate.png        the same settings after a search ran them: a time measured on this lab's workers
  status-stopped.png          the monitor right after Stop: "stopped", why, cancelled candidates, nothing failed
  status-list.png             the searches list with the stopped search
"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import Page, expect

from tests.frontend.conftest import ARTIFACTS, api_post, fill_tiny_eval, sign_in

pytestmark = pytest.mark.browser


def _fill_form(page: Page, base: str, budget: int) -> None:
    """The demo preset with tiny training (settings no other test uses: nothing measured yet)."""
    page.goto(f"{base}/searches/new/")
    page.get_by_role("radio", name=re.compile(r"^demo\b")).check()
    page.get_by_label("Budget", exact=False).fill(str(budget))
    fill_tiny_eval(page, val_examples=97)


def test_the_launch_form_says_what_runs_at_once_and_how_long(lab_server, page: Page) -> None:
    base = lab_server.base_url
    user = lab_server.create_user(lab_server.unique_name("runtime"), "pw-runtime-123")
    sign_in(page, base, user.username, user.password, "/searches/new/")
    _fill_form(page, base, budget=2)

    # the lab runs one evaluation process per core: the demo's two candidates train at once
    cores = len(os.sched_getaffinity(0))
    at_once = min(2, cores)
    concurrency = page.get_by_test_id("estimate-concurrency")
    expect(concurrency).to_have_text(
        f"{at_once} candidate{'s' if at_once > 1 else ''} will train at once "
        f"(this lab has {cores} evaluation slot{'s' if cores > 1 else ''}).", timeout=15_000)
    time_text = page.get_by_test_id("estimate-time")
    expect(time_text).to_contain_text("No candidate has run with these settings on this lab yet")
    # the quality-gate hint follows the overrides, not the preset
    expect(page.get_by_text("At least 1 (the quality gate).")).to_be_visible()
    page.get_by_role("heading", name="On this lab").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "runtime-no-measurement.png"))

    # a search with these settings runs; what its candidates cost becomes the estimate
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url(re.compile(r".*/searches/\d+/$"))
    expect(page.get_by_test_id("search-status")).to_have_text("finished", timeout=240_000)
    _fill_form(page, base, budget=12)
    expect(time_text).to_contain_text(re.compile(
        r"^About .+ for 12 candidates: .+ per candidate, measured with these settings over 2 candidates "
        r"on this lab's workers, \d+ at a time\.$"), timeout=15_000)
    page.get_by_role("heading", name="On this lab").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "runtime-estimate.png"))
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]


def test_a_stopped_search_says_stopped_and_cancels_what_did_not_finish(lab_server, page: Page) -> None:
    base = lab_server.base_url
    user = lab_server.create_user(lab_server.unique_name("stopper"), "pw-stopper-123")
    sign_in(page, base, user.username, user.password, "/searches/")
    # cpu-quick's own training is slow enough to be caught running; three seeds for two cores,
    # so one of them is still waiting when the search is stopped
    search = api_post(page, base, "/api/searches", {
        "name": "stop me", "preset": "cpu-quick", "seed": 5,
        "seed_references": ["bn_relu", "evonorm_b0", "gn_relu"],
        "overrides": {"budget": 6, "parallel": 3, "population_size": 4, "tournament_size": 2,
                      "rerank_top_k": 0, "rerank_keep": 0}})
    page.goto(f"{base}/searches/{search['id']}/")
    expect(page.get_by_test_id("count-running")).not_to_have_text("0", timeout=60_000)

    page.once("dialog", lambda d: d.accept())
    page.get_by_role("button", name="Stop").click()
    status = page.get_by_test_id("search-status")
    expect(status).to_have_text("stopped")
    expect(page.get_by_test_id("search-status-detail")).to_have_text("stopped by its owner")
    expect(page.get_by_test_id("count-running")).to_have_text("0")
    expect(page.get_by_test_id("count-queued")).to_have_text("0")
    expect(page.get_by_test_id("count-failed")).to_have_text("0")  # nothing the layers did wrong
    expect(page.get_by_test_id("count-cancelled")).not_to_have_text("0")
    rows = page.locator(".cand-scroll [role=row]")
    expect(rows.filter(has_text="cancelled").first).to_be_visible()
    expect(rows.filter(has_text="running")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "status-stopped.png"), full_page=True)

    # the stop is final: a reload still says stopped, never "finished"
    page.reload()
    expect(status).to_have_text("stopped")
    expect(page.get_by_role("button", name="Stop")).to_be_disabled()

    # a seed that never started is cancelled with the reason, not failed
    cancelled_ids = [c["id"] for c in page.request.get(
        f"{base}/api/searches/{search['id']}/candidates?status=cancelled").json()["items"]]
    assert cancelled_ids
    page.goto(f"{base}/candidates/{cancelled_ids[-1]}/")
    expect(page.get_by_text("cancelled", exact=True)).to_be_visible()
    expect(page.get_by_text(re.compile(r"never started: the search was stopped first|abandoned: the search "
                                       r"was stopped while it trained"))).to_be_visible()

    page.goto(f"{base}/searches/")
    row = page.get_by_role("row", name=re.compile("stop me"))
    expect(row).to_contain_text("stopped")
    expect(row).to_contain_text("stopped by its owner")
    expect(row).not_to_contain_text("finished")
    page.screenshot(path=str(ARTIFACTS / "status-list.png"), full_page=True)
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]
