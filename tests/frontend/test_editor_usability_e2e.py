"""End to end in headless Chromium: the editor is easy to read and to edit (issue 12, items 4 and 5).

- EvoNorm-B0 opens at 1440 × 900 with node text of at least 11 px and handles of
  at least 8 px on screen; a node dropped on the mini map's corner is moved
  into view and can be clicked; the mini map can be hidden, and stays hidden
  after a reload.
- An unconnected node the output does not use is a warning in plain words: the
  layer stays valid, the formula stays shown, it saves, and the unfinished node
  comes back after a reload.
- A connection dropped on the occupied output replaces the old one (one undo
  step); an op dropped from the palette onto a connection, or a node dragged
  onto one, is spliced into it (one undo step each).

Screenshots (test-artifacts/):
  editor-readable-b0.png       EvoNorm-B0 as it opens at 1440 × 900
  editor-minimap-drop.png      a node dropped on the mini map, panned into view
  editor-unused-warning.png    an unfinished, unused node: a warning, the formula still shown
  editor-spliced.png           tanh spliced into the connection to the output
  editor-splice-target.png     a node held over a connection: the connection it would go into, highlighted
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.frontend.conftest import ARTIFACTS, sign_up
from tests.frontend.test_editor_e2e import (
    center,
    drop_op,
    handle,
    node,
    open_editor,
    wire,
)

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1440, "height": 900}


def on_screen_text_px(page: Page) -> list[dict]:
    """Each visible node label's computed font size times the canvas zoom, in screen pixels."""
    return page.evaluate(
        """() => {
          const vp = document.querySelector('.canvas-wrap .react-flow__viewport');
          const zoom = new DOMMatrixReadOnly(getComputedStyle(vp).transform).a;
          const wrap = document.querySelector('.canvas-wrap').getBoundingClientRect();
          const inside = (r) => r.width > 0 && r.right > wrap.left && r.left < wrap.right && r.bottom > wrap.top && r.top < wrap.bottom;
          return [...document.querySelectorAll('.canvas-wrap .react-flow__node :is(.node-op, .node-id, .slot-label, .input-name, .input-desc, .node-sub)')]
            .filter((el) => inside(el.getBoundingClientRect()))
            .map((el) => ({ text: el.textContent, px: parseFloat(getComputedStyle(el).fontSize) * zoom, zoom }));
        }"""
    )


def overlap(a: dict, b: dict) -> bool:
    return a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"] and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"]


def test_b0_opens_readable_with_big_handles_and_a_minimap_that_keeps_out_of_the_way(lab_server, page: Page) -> None:
    base = lab_server.base_url
    page.set_viewport_size(DESKTOP)
    sign_up(page, base, lab_server.unique_name("reader"))
    page.evaluate("() => localStorage.removeItem('lab.editor.minimap')")
    open_editor(page, f"{base}/editor/?ref=evonorm_b0")
    expect(node(page, "bv")).to_be_visible()
    page.wait_for_timeout(400)  # the opening view is set once the nodes are measured

    labels = on_screen_text_px(page)
    assert len(labels) >= 12, labels
    small = [x for x in labels if x["px"] < 11]
    assert not small, f"node text under 11 px on screen at zoom {labels[0]['zoom']:.2f}: {small[:5]}"
    # The opening view starts at the inputs: x and the first column are on screen.
    canvas = page.locator(".canvas-wrap").bounding_box()
    assert canvas
    for node_id in ("@x", "bv", "iv", "vx"):
        box = node(page, node_id).bounding_box()
        assert box and box["x"] >= canvas["x"] and box["x"] + box["width"] <= canvas["x"] + canvas["width"], node_id

    handles = page.locator(".canvas-wrap .react-flow__handle")
    assert handles.count() >= 10
    sizes = [handles.nth(i).bounding_box() for i in range(handles.count())]
    visible = [b for b in sizes if b and canvas["x"] <= b["x"] <= canvas["x"] + canvas["width"]]
    assert visible and min(min(b["width"], b["height"]) for b in visible) >= 8, visible[:3]
    page.screenshot(path=str(ARTIFACTS / "editor-readable-b0.png"))

    # A node dropped right on the mini map is panned out from under it and can be used.
    minimap = page.get_by_role("img", name="Mini map of the graph")
    expect(minimap).to_be_visible()
    mm = minimap.bounding_box()
    assert mm
    page.locator('.palette-item[data-op="neg"]').drag_to(
        page.locator(".react-flow__minimap"), target_position={"x": mm["width"] * 0.6, "y": mm["height"] * 0.6}
    )
    expect(node(page, "n1")).to_be_visible()
    page.wait_for_timeout(400)  # the pan is animated
    n1 = node(page, "n1").bounding_box()
    assert n1 and not overlap(n1, minimap.bounding_box()), (n1, minimap.bounding_box())
    node(page, "n1").locator(".node-op").click()
    expect(page.get_by_role("heading", name="Node n1: neg")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "editor-minimap-drop.png"))

    # The mini map can be hidden, and stays hidden after a reload.
    toggle = page.get_by_role("button", name="Mini map")
    expect(toggle).to_have_attribute("aria-pressed", "true")
    toggle.click()
    expect(page.get_by_role("img", name="Mini map of the graph")).to_have_count(0)
    expect(toggle).to_have_attribute("aria-pressed", "false")
    page.reload()
    expect(node(page, "bv")).to_be_visible()
    expect(page.get_by_role("button", name="Mini map")).to_have_attribute("aria-pressed", "false")
    expect(page.get_by_role("img", name="Mini map of the graph")).to_have_count(0)
    page.get_by_role("button", name="Mini map").click()
    expect(page.get_by_role("img", name="Mini map of the graph")).to_be_visible()
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]


def edge_middle(page: Page, edge_id: str) -> tuple[float, float]:
    """The middle of a drawn connection (React Flow's bezier is symmetric about it)."""
    return center(page.locator(f'.react-flow__edge[data-id="{edge_id}"] .react-flow__edge-path'))


def test_unused_node_is_a_warning_connections_replace_and_nodes_splice_in(lab_server, page: Page) -> None:
    base = lab_server.base_url
    page.set_viewport_size(DESKTOP)
    username = lab_server.unique_name("editor")
    sign_up(page, base, username)
    s0 = {r["slug"]: r for r in page.request.get(f"{base}/api/reference-layers").json()}["evonorm_s0"]
    open_editor(page, f"{base}/editor/?ref=evonorm_s0")
    formula = page.get_by_test_id("formula")
    expect(formula).to_have_text(s0["formula"])
    canvas = page.locator(".canvas-wrap").bounding_box()
    assert canvas

    # --- an add with only slot a connected, used by nothing: a warning, the formula stays ---
    drop_op(page, "add", canvas["x"] + canvas["width"] * 0.35, canvas["y"] + canvas["height"] - 150)
    expect(node(page, "n1")).to_be_visible()
    wire(page, "@x", "n1", 0)
    expect(page.get_by_test_id("local-valid")).to_be_visible()
    expect(page.get_by_test_id("local-warnings")).to_have_text(re.compile(r"1 warning"))
    warnings = page.get_by_role("list", name="Warnings", exact=True)
    expect(warnings).to_contain_text("Input b of n1 (add) is empty")
    expect(warnings).to_contain_text("kept in the editor only")
    expect(page.get_by_test_id("server-verdict")).to_contain_text("valid")
    expect(page.get_by_test_id("server-verdict")).not_to_contain_text("invalid")
    expect(formula).to_have_text(s0["formula"])
    expect(page.locator(".server-error")).to_have_count(0)
    expect(page.get_by_text("names no node")).to_have_count(0)
    expect(node(page, "n1").locator(".node-slot.slot-empty")).to_have_count(1)
    expect(node(page, "n1").get_by_role("img", name=re.compile(r"^Warning: Input b of n1"))).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "editor-unused-warning.png"))

    # It saves (the document stays valid) and the unfinished node is there after a reload.
    page.get_by_label("Layer name", exact=True).fill(f"S0 with a loose end {username}")
    page.get_by_role("button", name="Save layer").click()
    page.wait_for_url(re.compile(r".*/editor/\d+/$"))
    expect(page.get_by_test_id("save-state")).to_have_text("saved · v1")
    page.reload()
    expect(formula).to_have_text(s0["formula"], timeout=30_000)
    expect(node(page, "n1").locator(".node-slot.slot-empty")).to_have_count(1)
    expect(page.get_by_test_id("save-state")).to_have_text("saved · v1")

    # --- a new connection dropped on the occupied output replaces the old one; one undo ---
    # The readable opening view starts at the inputs; the output is one pan away. Fit shows it all.
    page.get_by_role("button", name="Zoom to fit").click()
    page.wait_for_timeout(400)
    drop_op(page, "neg", canvas["x"] + canvas["width"] * 0.55, canvas["y"] + canvas["height"] - 150)
    expect(node(page, "n2")).to_be_visible()
    wire(page, "@x", "n2", 0)
    n_edges = page.locator(".react-flow__edge").count()
    wire(page, "n2", "@output", 0)
    expect(page.get_by_test_id("notice")).to_contain_text("n2 replaces out at the output")
    expect(formula).to_have_text("-x")
    expect(page.locator('.react-flow__edge[data-id="n2->@output#0"]')).to_have_count(1)
    expect(page.locator(".react-flow__edge")).to_have_count(n_edges)
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Control+z")
    expect(formula).to_have_text(s0["formula"])
    expect(page.locator('.react-flow__edge[data-id="out->@output#0"]')).to_have_count(1)

    # --- an op dropped from the palette onto the connection to the output is spliced in ---
    x, y = edge_middle(page, "out->@output#0")
    drop_op(page, "tanh", x, y)
    expect(page.get_by_test_id("notice")).to_contain_text("Added tanh as n3 on the connection out → the output")
    expect(formula).to_have_text(f"tanh({s0['formula']})")
    expect(page.locator('.react-flow__edge[data-id="out->n3#0"]')).to_have_count(1)
    expect(page.locator('.react-flow__edge[data-id="n3->@output#0"]')).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "editor-spliced.png"))
    page.keyboard.press("Control+z")  # one step: the node and the splice go together
    expect(node(page, "n3")).to_have_count(0)
    expect(formula).to_have_text(s0["formula"])

    # --- a node without connections dragged onto a connection is spliced in too ---
    drop_op(page, "abs", canvas["x"] + canvas["width"] * 0.75, canvas["y"] + canvas["height"] - 120)
    expect(node(page, "n3")).to_be_visible()
    x, y = edge_middle(page, "out->@output#0")
    box = node(page, "n3").bounding_box()
    assert box
    page.mouse.move(box["x"] + 25, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(x, y, steps=10)
    # While the node is held over it, the connection it would go into is highlighted.
    expect(page.locator('.react-flow__edge[data-id="out->@output#0"]')).to_have_class(re.compile(r"\bedge-splice-target\b"))
    page.screenshot(path=str(ARTIFACTS / "editor-splice-target.png"))
    page.mouse.up()
    expect(page.locator(".react-flow__edge.edge-splice-target")).to_have_count(0)
    expect(page.get_by_test_id("notice")).to_contain_text("Put n3 on the connection out → the output")
    expect(formula).to_have_text(f"abs({s0['formula']})")
    page.keyboard.press("Control+z")  # the move and the splice are one step
    expect(formula).to_have_text(s0["formula"])
    expect(node(page, "n3")).to_be_visible()
    assert handle(page, "n3", "in0").count() == 1
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]
