"""End to end in headless Chromium: the search views a user reads to understand a search.

Issue 10 item 1 (the funnel, live) and item 6 (strategy); issue 12 items 3 (empty states that
know the search), 7 (the candidate graph's zoom buttons), 8 (compare candidates, column chooser,
tournament legend) and 9 (downloads named after the layer, the signed-out landing, the favicon).

Screenshots (test-artifacts/):
  search-empty-waiting.png   the monitor before any result: what trains, what the free checks refused
  search-empty-rejected.png  everything finished so far was rejected: why, and "see the funnel"
  search-funnel.png          a real random search, finished: the funnel beside the chart, strategy in the header
  search-legend.png          the tournament feed's legend opened
  search-columns.png         the candidate table with the column chooser open and a column hidden
  search-compare.png         two candidates side by side: scores, overlaid curves
  search-compare-graphs.png  their formulas and graphs, a column each
  candidate-zoom.png         the candidate page's graph with its zoom buttons
  landing.png                the sign-in page a signed-out visitor sees
"""

from __future__ import annotations

import json
import re
import zipfile

import pytest
from playwright.sync_api import Page, WebSocketRoute, expect

from tests.frontend.conftest import ARTIFACTS, TINY_EVAL, fill_tiny_eval, sign_in

pytestmark = pytest.mark.browser

CSP_LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolations.push(e.violatedDirective));
"""

# -- a stubbed search: the states are exact, the events come when the test sends them

STUB_ID = 737373
ARCHS = ["resnet50", "mobilenetv2"]


def _cand(i: int, status: str, **extra: object) -> dict:
    return {
        "id": i, "search_id": STUB_ID, "canonical_hash": f"{i:064x}", "status": status,
        "rejection_reason": None, "scores": {}, "mean_score": None, "mode": "S", "formula": f"x * sigmoid(x) + {i}",
        "parent_id": None, "mutation": "random", "attempts": 1, "worker": "eval-1@lab/1" if status == "running" else None,
        "created_at": "2026-01-01T00:00:00Z", "started_at": None, "finished_at": None, **extra,
    }


def _stub_search(page: Page, funnel: dict, candidates: list[dict], last_seq: int) -> list:
    detail = {
        "id": STUB_ID, "name": "stubbed search", "status": "running", "stage": "evolution", "preset": "cpu-quick",
        "mode": "S", "strategy": "evolution", "counts": {}, "budget": 6, "created_at": "2026-01-01T00:00:00Z",
        "best": None, "reason": None, "config": {"eval": {"architectures": ARCHS}}, "seed": 1,
        "architectures": ARCHS, "funnel": funnel, "last_seq": last_seq, "started_at": "2026-01-01T00:00:00Z",
        "finished_at": None, "eta_seconds": None, "throughput_per_minute": None, "active_workers": 2, "rerank": [],
    }
    page.route(re.compile(rf".*/api/searches/{STUB_ID}$"), lambda r: r.fulfill(json=detail))
    page.route(re.compile(rf".*/api/searches/{STUB_ID}/candidates.*"),
               lambda r: r.fulfill(json={"count": len(candidates), "items": candidates}))
    page.route(re.compile(rf".*/api/searches/{STUB_ID}/events.*"),
               lambda r: r.fulfill(json={"events": [], "last_seq": last_seq}))
    sockets: list = []
    page.route_web_socket(re.compile(rf".*/ws/searches/{STUB_ID}/.*"), lambda ws: sockets.append(ws))
    return sockets


def _send(ws: WebSocketRoute, seq: int, type_: str, payload: dict) -> None:
    ws.send(json.dumps({"seq": seq, "type": type_, "payload": payload, "created_at": "2026-01-01T00:01:00Z"}))


def test_empty_states_know_the_search_and_the_funnel_moves_live(lab_server, page: Page) -> None:
    base = lab_server.base_url
    user = lab_server.create_user(lab_server.unique_name("empty"), "pw-empty-states-1")
    sign_in(page, base, user.username, user.password, "/searches/")
    funnel = {"evaluated": 0, "drawn": 12, "in_flight": 2, "refused_static": 6, "refused_probe": 4,
              "unstable": 0, "low_quality": 0, "rejected_other": 0, "failed": 0}  # jsonb order: any
    sockets = _stub_search(page, funnel, [_cand(1, "running"), _cand(2, "running")], last_seq=4)
    page.goto(f"{base}/searches/{STUB_ID}/")
    expect(page.get_by_test_id("connection-state")).to_have_attribute("data-state", "connected")
    ws = sockets[0]

    # -- waiting for the first result: no bare axes, the state in words
    pareto = page.get_by_role("region", name="Pareto front")
    expect(pareto.get_by_role("status")).to_have_text(
        "Waiting for the first result: 2 candidates in training. "
        "The free checks refused 10 layers so far, at no cost to the budget.")
    expect(pareto.get_by_role("img")).to_have_count(0)
    stages = page.get_by_role("list", name="Funnel").get_by_role("listitem")
    expect(stages).to_have_count(5)
    expect(stages.nth(0)).to_contain_text("Drawn")
    expect(page.get_by_test_id("funnel-drawn")).to_have_text("12")
    expect(page.get_by_test_id("funnel-sent")).to_have_text("2")
    expect(stages.nth(2)).to_contain_text("−4 refused by the numeric probe")
    expect(stages.nth(3)).to_contain_text("2 in training")
    page.screenshot(path=str(ARTIFACTS / "search-empty-waiting.png"), full_page=True)

    # -- both rejected, and the engine drew more: the funnel follows the events, no reload
    _send(ws, 5, "candidate.finished", {"candidate": _cand(1, "rejected", rejection_reason="unstable",
                                                          finished_at="2026-01-01T00:01:00Z")})
    _send(ws, 6, "candidate.finished", {"candidate": _cand(2, "rejected", rejection_reason="unstable",
                                                          finished_at="2026-01-01T00:01:00Z")})
    _send(ws, 7, "search.funnel", {"funnel": {**funnel, "drawn": 13, "refused_static": 7, "unstable": 2,
                                              "in_flight": 0}})
    expect(pareto.get_by_role("status")).to_have_text(
        "All 2 finished candidates were rejected so far (unstable 2): see the funnel.")
    expect(page.get_by_test_id("funnel-drawn")).to_have_text("13")
    expect(stages.nth(3)).to_contain_text("−2 unstable")
    expect(page.get_by_test_id("funnel-trained")).to_have_text("0")  # unstable: no budget spent
    page.screenshot(path=str(ARTIFACTS / "search-empty-rejected.png"), full_page=True)

    # -- the first evaluated candidate: the chart appears, the message goes
    _send(ws, 8, "candidate.created", {"candidate": _cand(3, "queued"), "tournament": {
        "contestants": [1, 2], "front": [2], "winner": 2}})
    _send(ws, 9, "candidate.finished", {"candidate": _cand(3, "evaluated", scores={"resnet50": 0.4, "mobilenetv2": 0.5},
                                                          mean_score=0.45, finished_at="2026-01-01T00:02:00Z")})
    _send(ws, 10, "search.funnel", {"funnel": {**funnel, "drawn": 14, "refused_static": 7, "unstable": 2,
                                               "in_flight": 0, "evaluated": 1}})
    expect(pareto.get_by_role("img")).to_be_visible()
    expect(pareto.get_by_role("status")).to_have_count(0)
    expect(page.get_by_test_id("funnel-evaluated")).to_have_text("1")

    # -- the tournament chips explained
    feed = page.get_by_role("region", name="Tournaments")
    feed.get_by_text("What the chips mean").click()
    legend = feed.get_by_role("definition")
    expect(legend.filter(has_text="the winner of the tournament: the parent")).to_have_count(1)
    expect(legend.filter(has_text="node: one node replaced by a new random one")).to_have_count(1)
    expect(legend.filter(has_text="light orange, on the contestants' Pareto front")).to_have_count(1)
    feed.screenshot(path=str(ARTIFACTS / "search-legend.png"))
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]


def _launch_random_search(page: Page, base: str) -> int:
    """From the launch form, as a user: random strategy, two reference seeds, tiny training, budget 4."""
    page.goto(f"{base}/searches/new/")
    page.get_by_role("radio", name=re.compile(r"^demo\b")).check()
    page.get_by_label("Name", exact=True).fill("Random: try 1")
    expect(page.get_by_text("Counts the candidates that reach training")).to_be_visible()
    page.get_by_label("Strategy").select_option("random")
    expect(page.get_by_text("Random layers only, with the same checks: the paper's baseline")).to_be_visible()
    page.get_by_label("Budget (candidates)").fill("4")
    page.get_by_label("Random seed").fill("3")
    fill_tiny_eval(page)
    # the demo suggests two reference layers as seeds, ticked and labelled
    refs = page.get_by_role("group", name="Reference layers")
    for label in ("BN-ReLU", "EvoNorm-S0"):
        expect(refs.get_by_role("checkbox", name=re.compile(rf"^{label}\b"))).to_be_checked()
    expect(refs.get_by_text("suggested by demo")).to_have_count(2)
    # two reference layers as seeds train for sure: two candidates to compare, whatever the random ones do
    refs.get_by_role("checkbox", name=re.compile(r"^EvoNorm-S0\b")).uncheck()
    refs.get_by_role("checkbox", name=re.compile(r"^EvoNorm-B0\b")).check()
    page.get_by_role("button", name="Start search").click()
    page.wait_for_url(re.compile(r".*/searches/\d+/$"))
    return int(page.url.rstrip("/").split("/")[-1])


def test_a_random_search_shows_its_funnel_and_candidates_compare_side_by_side(lab_server, page: Page,
                                                                                tmp_path) -> None:
    base = lab_server.base_url
    user = lab_server.create_user(lab_server.unique_name("views"), "pw-search-views-1")
    sign_in(page, base, user.username, user.password, "/searches/new/")
    page.add_init_script(CSP_LISTEN)
    search_id = _launch_random_search(page, base)

    # -- the strategy is recorded and shown; the funnel fills live as the search runs
    expect(page.get_by_test_id("search-strategy")).to_have_text("random search")
    detail = page.request.get(f"{base}/api/searches/{search_id}").json()
    assert detail["strategy"] == "random" and detail["config"]["strategy"] == "random"
    expect(page.get_by_test_id("funnel-sent")).not_to_have_text("0", timeout=30_000)
    seq_at_start = page.evaluate("() => window.__labStream.lastSeq")
    expect(page.get_by_test_id("search-status")).to_have_text("finished", timeout=240_000)
    detail = page.request.get(f"{base}/api/searches/{search_id}").json()
    funnel = detail["funnel"]
    assert funnel["in_flight"] == 0 and funnel["drawn"] == sum(v for k, v in funnel.items() if k != "drawn")
    events = page.request.get(f"{base}/api/searches/{search_id}/events?after=0").json()["events"]
    assert [e["payload"]["funnel"] for e in events if e["type"] == "search.funnel"][-1] == funnel
    assert page.evaluate("() => window.__labStream.lastSeq") > seq_at_start  # it came over the socket
    expect(page.get_by_test_id("funnel-drawn")).to_have_text(str(funnel["drawn"]))
    # the budget counts what reached training; unstable layers were sent on top of it
    expect(page.get_by_test_id("funnel-trained")).to_have_text("4")
    expect(page.get_by_test_id("funnel-sent")).to_have_text(str(4 + funnel["unstable"]))
    expect(page.get_by_test_id("funnel-evaluated")).to_have_text(str(funnel["evaluated"]))
    expect(page.get_by_role("list", name="Funnel")).to_contain_text("(budget 4 / 4)")
    page.screenshot(path=str(ARTIFACTS / "search-funnel.png"), full_page=True)

    # -- the column chooser hides a column, and remembers it
    table = page.get_by_role("table", name="Candidates")
    expect(table.get_by_role("columnheader", name="Worker")).to_have_count(1)
    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("group", name="Columns shown").get_by_role("checkbox", name="Worker").uncheck()
    expect(table.get_by_role("columnheader", name="Worker")).to_have_count(0)
    page.screenshot(path=str(ARTIFACTS / "search-columns.png"), full_page=True)
    page.reload()
    expect(page.get_by_role("table", name="Candidates").get_by_role("columnheader", name="Mean")).to_have_count(1)
    expect(page.get_by_role("table", name="Candidates").get_by_role("columnheader", name="Worker")).to_have_count(0)

    # -- select two candidates and compare them
    ids = sorted(c["id"] for c in page.request.get(
        f"{base}/api/searches/{search_id}/candidates?status=evaluated").json()["items"])
    assert len(ids) >= 2, "the two seeds were not both evaluated"
    a, b = ids[:2]
    compare = page.get_by_role("button", name=re.compile(r"^Compare selected"))
    expect(compare).to_be_disabled()
    page.get_by_role("checkbox", name=f"Select candidate {a}").check()
    page.get_by_role("checkbox", name=f"Select candidate {b}").check()
    expect(compare).to_have_text("Compare selected (2)")
    compare.click()
    page.wait_for_url(re.compile(rf".*/searches/{search_id}/compare/\?ids={a},{b}$"))
    expect(page.get_by_role("heading", name="Compare 2 candidates")).to_be_visible()
    for cid in (a, b):
        expect(page.get_by_role("heading", name=f"Candidate #{cid}")).to_be_visible()
        expect(page.get_by_role("figure", name=f"Graph of candidate {cid} (read-only)")).to_be_visible()
        expect(page.get_by_label(f"Formula of candidate {cid}")).not_to_be_empty()
    scores = page.get_by_role("table", name="Scores")
    expect(scores.get_by_role("row")).to_have_count(len(TINY_EVAL["architectures"]) + 2)  # head, archs, mean
    curves = page.get_by_role("img", name=re.compile(r"^Validation accuracy against step"))
    expect(curves).to_have_attribute("data-series", str(2 * len(TINY_EVAL["architectures"])))
    expect(curves.locator("canvas, svg").first).to_be_visible()  # the curves are drawn
    page.screenshot(path=str(ARTIFACTS / "search-compare.png"), full_page=True)
    page.get_by_role("region", name="Formulas and graphs").screenshot(path=str(ARTIFACTS / "search-compare-graphs.png"))

    # -- the candidate page: zoom buttons with visible icons; downloads named after the layer
    page.get_by_role("link", name=f"Candidate #{a}").click()
    page.wait_for_url(re.compile(rf".*/candidates/{a}/$"))
    graph = page.get_by_role("figure", name="Graph of the candidate layer (read-only)")
    expect(graph).to_be_visible()  # the page's chunk may load while the compare view still shows
    for name in ("Zoom In", "Zoom Out", "Fit View"):
        button = graph.get_by_role("button", name=name)
        expect(button).to_be_visible()
        box = button.bounding_box()
        icon = button.locator("svg").bounding_box()
        assert box and box["width"] >= 16 and box["height"] >= 16, (name, box)
        assert icon and icon["width"] >= 8 and icon["height"] > 0, (name, icon)  # "Zoom Out" is a flat minus
    graph.screenshot(path=str(ARTIFACTS / "candidate-zoom.png"))
    with page.expect_download() as info:
        page.get_by_role("link", name="Download layer.py").click()
    assert info.value.suggested_filename == f"random_try_1_candidate_{a}.py"
    with page.expect_download() as info:
        page.get_by_role("link", name="Download bundle.zip").click()
    assert info.value.suggested_filename == f"Random_try_1_candidate_{a}.zip"
    info.value.save_as(tmp_path / "bundle.zip")
    readme = zipfile.ZipFile(tmp_path / "bundle.zip").read("README.md").decode()
    assert "A seed layer of the layer lab's search" in readme and "evolutionary" not in readme

    assert page.evaluate("window.__cspViolations") == []

    # the list of searches says which one was a random search
    page.goto(f"{base}/searches/")
    expect(page.get_by_role("row", name=re.compile("Random: try 1"))).to_contain_text("demo · random search")
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]


def test_a_signed_out_visitor_reads_what_the_lab_is_and_no_page_misses_its_icon(lab_server, page: Page) -> None:
    base = lab_server.base_url
    missing: list[str] = []
    page.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    page.goto(f"{base}/")
    page.wait_for_url(re.compile(r".*/accounts/login/.*"))
    expect(page.get_by_role("heading", name="Design and discover normalization-activation layers")).to_be_visible()
    expect(page.get_by_text("Draw a layer")).to_be_visible()
    expect(page.get_by_label("Username")).to_be_visible()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "landing.png"), full_page=True)

    user = lab_server.create_user(lab_server.unique_name("icon"), "pw-landing-icon-1")
    sign_in(page, base, user.username, user.password, "/searches/")
    for path in ("/accounts/signup/", "/searches/", "/layers/", "/editor/", "/api/docs"):
        page.goto(base + path)
        page.wait_for_load_state("networkidle")
        hrefs = page.eval_on_selector_all("link[rel~=icon]", "ls => ls.map(l => l.href)")
        for href in hrefs or [f"{base}/favicon.ico"]:
            icon = page.request.get(href)
            assert icon.ok and icon.headers["content-type"].startswith("image/"), (path, href, icon.status)
    icon = page.request.get(f"{base}/favicon.ico")
    assert icon.ok and icon.headers["content-type"] == "image/svg+xml"
    assert missing == [], missing
