"""End to end in headless Chromium: versions that say what changed, and numerics that read clearly (issue 12, items 6 and 9).

- Moving a node and saving keeps the version (the notice says only the layout
  was saved, the history keeps one entry); changing the graph makes version 2,
  whose history entry shows its formula and its changes since version 1
  (added node, new output), and whose dialog repeats them over its graph.
- The numerics table groups its rows by input scale and labels them training
  mode and evaluation mode (one row "both modes" where they agree), fits its
  panel, and writes every number with three significant digits.

Screenshots (test-artifacts/):
  editor-versions.png        the history panel: formulas and changes per version
  editor-version-diff.png    version 2 opened: its changes over its graph, changed nodes outlined
  editor-numerics-modes.png  the numerics table by scale and mode
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.frontend.conftest import ARTIFACTS, sign_up
from tests.frontend.test_editor_e2e import move_node, node, open_editor, wire

pytestmark = pytest.mark.browser

# Three significant digits: 0.151, -0.00106, 4.35, 192, 1.92e4, -3.17e-4; or 0.
NUMBER = re.compile(r"^(0|-?(\d\.\d\d|0\.0{0,2}[1-9]\d\d|\d\d\.\d|\d{3})|-?\d\.\d\de-?\d+)$")


def test_layout_only_save_keeps_the_version_and_versions_show_formula_and_changes(lab_server, page: Page) -> None:
    base = lab_server.base_url
    page.set_viewport_size({"width": 1440, "height": 900})
    username = lab_server.unique_name("versions")
    sign_up(page, base, username)
    s0 = {r["slug"]: r for r in page.request.get(f"{base}/api/reference-layers").json()}["evonorm_s0"]
    open_editor(page, f"{base}/editor/?ref=evonorm_s0")
    page.get_by_label("Layer name", exact=True).fill(f"S0 {username}")
    page.get_by_role("button", name="Save layer").click()
    page.wait_for_url(re.compile(r".*/editor/\d+/$"))
    state = page.get_by_test_id("save-state")
    expect(state).to_have_text("saved · v1")
    history = page.get_by_test_id("version-history")
    entries = history.locator(".version-list > li")
    expect(entries).to_have_count(1)

    # --- only the layout changes: saved, still version 1 ---
    box = node(page, "gv").bounding_box()
    assert box
    move_node(page, "gv", box["x"] + 60, box["y"] + 120)
    expect(state).to_have_text("v1 · unsaved changes")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("notice")).to_contain_text("Saved the layout. The graph is unchanged, so it is still version 1.")
    expect(state).to_have_text("saved · v1")
    expect(entries).to_have_count(1)
    page.reload()
    expect(page.get_by_test_id("formula")).to_have_text(s0["formula"], timeout=30_000)
    expect(state).to_have_text("saved · v1")  # the new layout is what was saved

    # --- a graph change: tanh after the old output, made the output; version 2 ---
    page.get_by_role("button", name="Zoom to fit").click()
    page.get_by_role("button", name="Add tanh: tanh(a)").click()
    expect(node(page, "n1")).to_be_visible()
    page.get_by_label("Input a of n1", exact=True).select_option("out")
    page.get_by_role("button", name="Use n1 as the output").click()
    expect(page.get_by_test_id("formula")).to_have_text(f"tanh({s0['formula']})")
    page.keyboard.press("Control+s")
    expect(state).to_have_text("saved · v2")
    expect(entries).to_have_count(2)
    v2 = history.get_by_role("listitem", name="Version 2")
    v1 = history.get_by_role("listitem", name="Version 1")
    expect(v2.get_by_label("Formula of version 2")).to_have_text(f"tanh({s0['formula']})")
    expect(v1.get_by_label("Formula of version 1")).to_have_text(s0["formula"])
    expect(v2).to_contain_text("2 changes since v1")
    changes = v2.get_by_role("list", name="Changes in version 2")
    expect(changes.get_by_role("listitem")).to_have_text(["added n1 = tanh(out)", "output out → n1"])
    expect(v1).to_contain_text("First version")
    history.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "editor-versions.png"))

    history.get_by_role("button", name="View version 2").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("version 2")
    expect(dialog.get_by_role("list", name="Changes in version 2")).to_contain_text("added n1 = tanh(out)")
    expect(dialog.locator('.react-flow__node.node-changed[data-id="n1"]')).to_be_visible()
    page.wait_for_timeout(300)  # a re-render must not hide the graph's nodes
    expect(dialog.locator('.react-flow__node[data-id="out"]')).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "editor-version-diff.png"))
    dialog.get_by_role("button", name="Close").click()

    # --- wire the old output back (replacing n1 there): version 3 names that change ---
    wire(page, "out", "@output", 0)
    expect(page.get_by_test_id("formula")).to_have_text(s0["formula"])
    page.keyboard.press("Control+s")
    expect(state).to_have_text("saved · v3")
    v3 = history.get_by_role("listitem", name="Version 3")
    expect(v3.get_by_role("list", name="Changes in version 3").get_by_role("listitem")).to_have_text(["output n1 → out"])
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]


def test_numerics_rows_are_labelled_by_mode_and_formatted_alike(lab_server, page: Page) -> None:
    base = lab_server.base_url
    page.set_viewport_size({"width": 1440, "height": 900})
    sign_up(page, base, lab_server.unique_name("numerics"))
    open_editor(page, f"{base}/editor/?ref=evonorm_b0")
    page.get_by_role("button", name="Check numerics").click()
    numerics = page.get_by_test_id("numerics")
    expect(numerics).to_contain_text("OK", timeout=60_000)
    expect(numerics).to_contain_text("Training mode")
    expect(numerics).to_contain_text("Evaluation mode")
    table = numerics.get_by_role("table")
    for scale in ("0.001", "1", "1000"):
        expect(table.get_by_role("rowheader", name=re.compile(rf"^input × {scale}\b"))).to_have_count(1)
    # Each scale: one row per mode, or one row "both modes" where they give the same numbers.
    both = table.get_by_role("rowheader", name="both modes", exact=True).count()
    training = table.get_by_role("rowheader", name="training mode", exact=True).count()
    assert training == table.get_by_role("rowheader", name="evaluation mode", exact=True).count()
    assert both + training == 3, (both, training)
    expect(table.get_by_role("columnheader")).to_have_text(["mode", "mean", "std", "min", "max", "grad norm"])
    cells = table.get_by_role("cell").all_inner_texts()
    assert len(cells) == 5 * (both + 2 * training), cells
    # The table fits the panel: no column cut off.
    fits = table.evaluate("(t) => t.scrollWidth <= t.parentElement.clientWidth")
    assert fits, "the numerics table is wider than its panel"
    odd = [c for c in cells if not NUMBER.match(c.strip())]
    assert not odd, f"numbers not in the one format: {odd}"
    numerics.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "editor-numerics-modes.png"))
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]
