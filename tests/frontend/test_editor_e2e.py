"""End to end in headless Chromium: the layer editor against the running lab.

Draws EvoNorm-S0 by dragging ops from the palette and connecting handles with
the mouse, checks the server's formula and verdict, sees a cycle refused as it
is drawn and a connection dropped on a full slot replace the old one (undone),
sees an unfinished unused node flagged as a warning on its node, uses undo/redo, multi-select, copy/paste and auto layout, saves,
checks numerics, saves a second version and restores the first, finds the
layer in the list after a reload, downloads it as .py and runs the module,
comparing it with the engine's own EvoNorm-S0.

Screenshots (test-artifacts/):
  editor-s0-drawn.png      EvoNorm-S0 drawn by hand, auto-laid-out, with the server's formula
  editor-cycle-refused.png the refusal notice after trying to close a cycle n7 → n8 → n7
  editor-invalid.png       an unfilled slot on unused node n7 (a warning), unused nodes greyed, still valid
  editor-numerics.png      the saved layer with the numeric probe's table
  editor-history.png       version 1 opened from the history panel (read-only graph)
  editor-reference-b0.png  EvoNorm-B0 loaded from the reference catalogue (mode B)
"""

from __future__ import annotations

import importlib.util
import re
import sys
import types
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.frontend.conftest import ARTIFACTS, sign_up

pytestmark = pytest.mark.browser


# --- helpers -------------------------------------------------------------------------


def node(page: Page, node_id: str) -> Locator:
    return page.locator(f'.react-flow__node[data-id="{node_id}"]')


def handle(page: Page, node_id: str, handle_id: str) -> Locator:
    return page.locator(f'.react-flow__handle[data-nodeid="{node_id}"][data-handleid="{handle_id}"]')


def center(loc: Locator) -> tuple[float, float]:
    box = loc.bounding_box()
    assert box, f"{loc} is not on screen"
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


def edges(page: Page) -> int:
    return page.locator(".react-flow__edge").count()


def drop_op(page: Page, op: str, x: float, y: float) -> None:
    """Drags a palette entry onto the canvas and releases it at screen point (x, y)."""
    pane = page.locator(".react-flow__pane")
    box = pane.bounding_box()
    assert box
    page.locator(f'.palette-item[data-op="{op}"]').drag_to(
        pane, target_position={"x": x - box["x"], "y": y - box["y"]}
    )


def wire(page: Page, source: str, target: str, slot: int) -> None:
    """Presses on the source's output handle and releases on the target's slot handle."""
    sx, sy = center(handle(page, source, "out"))
    tx, ty = center(handle(page, target, f"in{slot}"))
    page.mouse.move(sx, sy)
    page.mouse.down()
    page.mouse.move((sx + tx) / 2, (sy + ty) / 2 + 20, steps=6)
    page.mouse.move(tx, ty, steps=8)
    page.mouse.up()


def move_node(page: Page, node_id: str, x: float, y: float) -> None:
    box = node(page, node_id).bounding_box()
    assert box
    page.mouse.move(box["x"] + 25, box["y"] + 10)
    page.mouse.down()
    page.mouse.move(x, y, steps=10)
    page.mouse.up()


def open_editor(page: Page, url: str) -> None:
    page.goto(url)
    expect(page.locator('.palette-item[data-op="mul"]')).to_be_visible()
    expect(node(page, "@x")).to_be_visible()
    expect(page.get_by_test_id("server-verdict")).not_to_contain_text("checking", timeout=30_000)


def load_module(path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(f"downloaded_{path.stem}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


S0_OPS = ["mul", "sigmoid", "mul", "group_var", "sqrt", "div"]
S0_WIRES = [
    ("@v1", "n1", 0),
    ("@x", "n1", 1),
    ("n1", "n2", 0),
    ("@x", "n3", 0),
    ("n2", "n3", 1),
    ("@x", "n4", 0),
    ("n4", "n5", 0),
    ("n3", "n6", 0),
    ("n5", "n6", 1),
    ("n6", "@output", 0),
]


def test_draw_s0_refuse_cycle_save_restore_download(lab_server, page: Page, tmp_path: Path) -> None:
    base = lab_server.base_url
    username = lab_server.unique_name("drawer")
    sign_up(page, base, username)
    refs = {r["slug"]: r for r in page.request.get(f"{base}/api/reference-layers").json()}
    s0_ref = refs["evonorm_s0"]

    open_editor(page, f"{base}/editor/")
    expect(page.get_by_test_id("local-invalid")).to_contain_text("1 problem")  # no output yet

    # --- draw EvoNorm-S0: drag six ops between the inputs and the output sink ---
    xb = node(page, "@x").bounding_box()
    ob = node(page, "@output").bounding_box()
    assert xb and ob
    left, right = xb["x"] + xb["width"] + 40, ob["x"] - 40
    col = [left + (right - left) * f for f in (0.08, 0.33, 0.58, 0.83)]
    row0, row1 = xb["y"] + 20, xb["y"] + 190
    spots = [(col[0], row0), (col[1], row0), (col[2], row0), (col[0], row1), (col[1], row1), (col[3], row0 + 90)]
    for i, (op, (x, y)) in enumerate(zip(S0_OPS, spots, strict=True), start=1):
        drop_op(page, op, x, y)
        expect(node(page, f"n{i}")).to_be_visible()
        expect(node(page, f"n{i}").locator(".node-op")).to_have_text(op)
    for k, (src, dst, slot) in enumerate(S0_WIRES, start=1):
        wire(page, src, dst, slot)
        if edges(page) != k:
            # Seen once in ~10 full runs: the very first press after the last
            # HTML5 drop was not taken as a connection start (headless Chromium,
            # loaded 2-core CI machine). Repeat the same gesture once; the count
            # must still be exactly k, so a doubled or refused edge still fails.
            page.wait_for_timeout(300)
            wire(page, src, dst, slot)
        expect(page.locator(".react-flow__edge")).to_have_count(k)

    formula = page.get_by_test_id("formula")
    expect(formula).to_have_text(s0_ref["formula"])
    expect(page.get_by_test_id("local-valid")).to_be_visible()
    expect(page.get_by_test_id("server-verdict")).to_contain_text("valid")
    expect(node(page, "@output").locator(".badge.mode-S")).to_be_visible()
    expect(page.locator(".hash")).to_have_attribute("title", s0_ref["canonical_hash"])

    page.get_by_role("button", name="Automatic layout").click()
    page.wait_for_timeout(600)
    page.get_by_role("button", name="Zoom to fit").click()
    page.wait_for_timeout(400)
    page.screenshot(path=str(ARTIFACTS / "editor-s0-drawn.png"))

    # --- while drawing: a connection dropped on a full slot replaces the old one; a cycle is refused ---
    n_edges = edges(page)
    wire(page, "@x", "n6", 0)  # slot a of n6 holds n3: x takes its place
    expect(page.get_by_test_id("notice")).to_contain_text("x replaces n3 at input a of n6")
    expect(page.locator('.react-flow__edge[data-id="@x->n6#0"]')).to_have_count(1)
    assert edges(page) == n_edges
    page.keyboard.press("Control+z")
    expect(formula).to_have_text(s0_ref["formula"])
    expect(page.locator('.react-flow__edge[data-id="n3->n6#0"]')).to_have_count(1)

    canvas = page.locator(".canvas-wrap").bounding_box()
    assert canvas
    low_y = canvas["y"] + canvas["height"] - 110
    page.locator('.palette-item[data-op="add"]').focus()
    page.keyboard.press("Enter")  # the keyboard way to add: at the centre of the view
    expect(node(page, "n7")).to_be_visible()
    move_node(page, "n7", canvas["x"] + canvas["width"] * 0.3, low_y)
    drop_op(page, "neg", canvas["x"] + canvas["width"] * 0.5, low_y)
    expect(node(page, "n8")).to_be_visible()
    wire(page, "n6", "n7", 0)
    wire(page, "n7", "n8", 0)
    expect(page.locator(".react-flow__edge")).to_have_count(n_edges + 2)
    wire(page, "n8", "n7", 1)  # would close n7 → n8 → n7
    expect(page.get_by_test_id("notice")).to_contain_text("cycle")
    expect(page.locator(".react-flow__edge")).to_have_count(n_edges + 2)
    page.screenshot(path=str(ARTIFACTS / "editor-cycle-refused.png"))

    # --- n7's slot b is empty, but nothing uses n7 or n8: warnings, the layer stays valid ---
    expect(node(page, "n7").locator(".node-slot.slot-empty")).to_have_count(1)
    expect(node(page, "n7").locator(".op-node.dead")).to_be_visible()
    expect(node(page, "n8").locator(".op-node.dead")).to_be_visible()
    expect(page.get_by_test_id("local-valid")).to_be_visible()
    expect(page.get_by_test_id("local-warnings")).to_have_text(re.compile("2 warnings"))
    expect(page.get_by_test_id("server-verdict")).not_to_contain_text("invalid")
    expect(formula).to_have_text(s0_ref["formula"])
    page.screenshot(path=str(ARTIFACTS / "editor-invalid.png"))
    # Fed into the output, the unfinished n7 is an error again, named on its slot.
    wire(page, "n7", "@output", 0)
    expect(node(page, "n7").locator(".op-node.has-issues")).to_be_visible()
    expect(node(page, "n7").locator(".node-slot.slot-missing")).to_have_count(1)
    expect(page.get_by_test_id("local-invalid")).to_be_visible()
    expect(page.get_by_test_id("server-verdict")).to_contain_text("invalid")
    expect(page.locator(".server-error")).to_contain_text("an input slot is not connected")
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("local-valid")).to_be_visible()

    # --- multi-select (Ctrl+click, then a Shift-drag box) and delete, then undo and redo ---
    node(page, "n1").locator(".node-op").click()
    node(page, "n2").locator(".node-op").click(modifiers=["Control"])
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    page.keyboard.press("Escape")
    boxes = [node(page, i).bounding_box() for i in ("n7", "n8")]
    assert all(boxes)
    x0 = min(b["x"] for b in boxes) - 20
    y0 = min(b["y"] for b in boxes) - 20
    x1 = max(b["x"] + b["width"] for b in boxes) + 20
    y1 = max(b["y"] + b["height"] for b in boxes) + 20
    page.keyboard.down("Shift")
    page.mouse.move(x0, y0)
    page.mouse.down()
    page.mouse.move(x1, y1, steps=10)
    page.mouse.up()
    page.keyboard.up("Shift")
    expect(page.locator(".react-flow__node.selected")).to_have_count(2)
    expect(node(page, "n7")).to_have_class(re.compile(r"\bselected\b"))
    expect(node(page, "n8")).to_have_class(re.compile(r"\bselected\b"))
    page.keyboard.press("Delete")
    expect(node(page, "n7")).to_have_count(0)
    expect(node(page, "n8")).to_have_count(0)
    expect(page.get_by_test_id("local-valid")).to_be_visible()
    page.keyboard.press("Control+z")
    expect(node(page, "n7")).to_have_count(1)
    expect(page.locator(".react-flow__edge")).to_have_count(n_edges + 2)
    page.keyboard.press("Control+Shift+z")
    expect(node(page, "n7")).to_have_count(0)
    expect(page.get_by_test_id("server-verdict")).to_contain_text("valid")
    expect(page.get_by_test_id("server-verdict")).not_to_contain_text("invalid")

    # --- copy and paste: a copy of n5 hangs off n4 and is dead (greyed), still valid ---
    node(page, "n5").locator(".node-op").click()
    page.keyboard.press("Control+c")
    page.keyboard.press("Control+v")
    expect(node(page, "n7").locator(".op-node.dead")).to_be_visible()
    expect(node(page, "n7").locator(".node-op")).to_have_text("sqrt")
    expect(page.get_by_test_id("local-valid")).to_be_visible()

    # --- save with a name: version 1 ---
    name = f"S0 drawn by hand {username}"
    page.get_by_label("Layer name", exact=True).fill(name)
    page.get_by_role("button", name="Save layer").click()
    page.wait_for_url(re.compile(r".*/editor/\d+/$"))
    layer_id = int(page.url.rstrip("/").split("/")[-1])
    expect(page.get_by_test_id("save-state")).to_have_text("saved · v1")

    # --- numerics: forward and backward on random input ---
    page.get_by_role("button", name="Check numerics").click()
    numerics = page.get_by_test_id("numerics")
    expect(numerics).to_contain_text("OK", timeout=60_000)
    # S0 has no batch_* op: both modes give the same numbers, one row per scale.
    expect(numerics.get_by_role("rowheader", name="both modes")).to_have_count(3)
    page.screenshot(path=str(ARTIFACTS / "editor-numerics.png"))

    # --- version 2 without the dead copy; view version 1 and restore it (version 3) ---
    node(page, "n7").locator(".node-op").click()
    page.keyboard.press("Delete")
    expect(page.get_by_test_id("save-state")).to_have_text("v1 · unsaved changes")
    page.keyboard.press("Control+s")
    expect(page.get_by_test_id("save-state")).to_have_text("saved · v2")
    history = page.get_by_test_id("version-history")
    expect(history.locator(".version-list > li")).to_have_count(2)
    history.get_by_role("button", name="View version 1").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("version 1")
    expect(dialog.locator('.react-flow__node[data-id="n7"] .op-node.dead')).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "editor-history.png"))
    dialog.get_by_role("button", name="Restore this version").click()
    expect(page.get_by_test_id("save-state")).to_have_text("saved · v3")
    expect(node(page, "n7")).to_be_visible()
    expect(history.locator(".version-list > li")).to_have_count(3)

    # --- find it in the list after a reload, and open it again ---
    page.get_by_role("link", name="Layers", exact=True).click()
    page.reload()
    row = page.get_by_test_id(f"layer-row-{layer_id}")
    expect(row).to_contain_text(name)
    expect(row).to_contain_text("v3")
    expect(row.locator(".badge.mode-S")).to_be_visible()
    row.get_by_role("link", name=f"Open {name} in the editor").click()
    expect(page.get_by_test_id("formula")).to_have_text(s0_ref["formula"], timeout=30_000)
    expect(node(page, "n6")).to_be_visible()
    page.reload()
    expect(page.get_by_test_id("formula")).to_have_text(s0_ref["formula"], timeout=30_000)

    # --- download as .py and run it: it computes exactly EvoNorm-S0 ---
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as .py").click()
    target = tmp_path / "downloaded_layer.py"
    download_info.value.save_as(target)
    source = target.read_text()
    compile(source, str(target), "exec")
    module = load_module(target)

    import torch

    from search_engine.compiler import compile_graph
    from search_engine.graph import LayerGraph

    # The file's layer class is the one replace_norm_act (also in the file) places.
    assert module.EXPORTED_LAYER is module.EvolvedNorm and callable(module.replace_norm_act)
    layer = module.EvolvedNorm(32)
    reference = compile_graph(LayerGraph.from_dict(s0_ref["document"]), 32)
    x = torch.randn(4, 32, 6, 6, generator=torch.Generator().manual_seed(1))
    y = layer(x)
    assert y.shape == x.shape and torch.isfinite(y).all()
    torch.testing.assert_close(y, reference(x))
    y.sum().backward()
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]


def test_reference_layer_keyboard_editing_and_accessible_names(lab_server, page: Page) -> None:
    base = lab_server.base_url
    sign_up(page, base, lab_server.unique_name("keys"))
    refs = {r["slug"]: r for r in page.request.get(f"{base}/api/reference-layers").json()}

    # Every reference layer opens as drawn by the engine: same formula and mode.
    open_editor(page, f"{base}/editor/?ref=evonorm_b0")
    expect(page.get_by_test_id("formula")).to_have_text(refs["evonorm_b0"]["formula"])
    expect(node(page, "@output").locator(".badge.mode-B")).to_be_visible()
    expect(node(page, "bv").locator(".badge.mode-B")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "editor-reference-b0.png"))

    # The toolbar's reference picker opens another one.
    page.get_by_label("Start from a reference layer").select_option("gn_relu")
    page.get_by_role("button", name="Open the chosen reference layer as a new layer").click()
    expect(page.get_by_test_id("formula")).to_have_text(refs["gn_relu"]["formula"], timeout=30_000)

    # Keyboard only on a blank canvas: add sigmoid, wire x into it, make it the output.
    page.get_by_role("link", name="New blank layer").click()
    expect(page.get_by_test_id("local-invalid")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Add sigmoid")).focus()
    page.keyboard.press("Enter")
    expect(node(page, "n1")).to_be_visible()
    slot = page.get_by_label("Input a of n1", exact=True)
    slot.focus()
    slot.select_option("x")
    use = page.get_by_role("button", name="Use n1 as the output")
    use.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("formula")).to_have_text("sigmoid(x)")
    expect(page.get_by_test_id("local-valid")).to_be_visible()
    # Undo from the keyboard takes the output back off.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("Control+z")
    expect(page.get_by_test_id("local-invalid")).to_contain_text("1 problem")

    # Every visible control has an accessible name.
    unnamed = page.evaluate(
        """() => {
          const name = (el) => {
            const by = el.getAttribute('aria-labelledby');
            const labelled = by ? by.split(' ').map(id => document.getElementById(id)?.textContent || '').join(' ') : '';
            const labels = el.labels ? [...el.labels].map(l => l.textContent).join(' ') : '';
            return (el.getAttribute('aria-label') || labelled || labels || el.textContent || el.getAttribute('title') || '').trim();
          };
          return [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea, [role=button]')]
            .filter(el => el.offsetParent !== null)
            .filter(el => !name(el))
            .map(el => el.outerHTML.slice(0, 120));
        }"""
    )
    assert unnamed == []
    assert not page.page_errors, page.page_errors  # type: ignore[attr-defined]


def test_nodes_added_back_to_back_are_each_selected(lab_server, page: Page) -> None:
    """Two adds in one task: the second runs while the first is still a pending React update.

    The new node's id was read from inside a setState updater, which React may run
    only at the next render; the selection then named no node and the inspector
    stayed empty (a flaky keyboard test showed it). Both clicks happen in one
    synchronous script here, so the second add always meets a pending update.
    """
    base = lab_server.base_url
    sign_up(page, base, lab_server.unique_name("adds"))
    open_editor(page, f"{base}/editor/")
    page.evaluate(
        """() => {
          const add = [...document.querySelectorAll('button')]
            .find((b) => (b.getAttribute('aria-label') || b.textContent || '').startsWith('Add sigmoid'));
          add.click();
          add.click();
        }"""
    )
    expect(node(page, "n2")).to_be_visible()
    expect(page.get_by_role("heading", name="Node n2: sigmoid")).to_be_visible()
    expect(page.get_by_label("Input a of n2", exact=True)).to_be_visible()
    expect(page.get_by_text("Added sigmoid as n2.")).to_be_visible()
