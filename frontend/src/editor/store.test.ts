import { describe, expect, it, vi } from "vitest";
import type { GraphDocument, LayerDetail } from "../api/types";
import bnRelu from "./fixtures/bn_relu.json";
import { copyNodes, emptyGraph, fromDocument, moveNodes, setMeta, toDocument, type EditorGraph } from "./model";
import { BUILTIN_TABLE as T } from "./opTable";
import {
  createEditorStore,
  editorReducer,
  initialEditorState,
  isDirty,
  redoable,
  undoable,
  type EditorAction,
  type EditorState,
} from "./store";

const run = (actions: EditorAction[], s: EditorState = initialEditorState()) => actions.reduce(editorReducer, s);
const keyOf = (g: EditorGraph) => JSON.stringify(toDocument(g));

function savedLayer(graph: EditorGraph, version = 1): LayerDetail {
  return {
    id: 7,
    name: graph.name,
    version,
    document: toDocument(graph),
    formula: "",
    mode: "B",
    canonical_hash: "",
    created_at: "",
    updated_at: "",
  } as unknown as LayerDetail;
}

describe("editor store", () => {
  it("loads a graph as a fresh history, saved when it comes from a saved layer", () => {
    const g = fromDocument({ ...(bnRelu as GraphDocument), name: "bn" });
    const blank = run([{ type: "edit", fn: (x) => setMeta(x, { name: "draft" }) }, { type: "loaded", graph: g, layer: null }]);
    expect(blank.loaded).toBe(true);
    expect(undoable(blank)).toBe(false);
    expect(blank.savedKey).toBeNull();
    expect(isDirty(blank, keyOf(g))).toBe(true); // a new layer with nodes is unsaved

    const saved = run([{ type: "loaded", graph: g, layer: savedLayer(g) }]);
    expect(saved.savedKey).toBe(keyOf(g));
    expect(isDirty(saved, keyOf(g))).toBe(false);
    expect(isDirty(initialEditorState(), keyOf(emptyGraph()))).toBe(false);
  });

  it("adds an op, selects it and remembers its id; undo and redo walk the history", () => {
    const s = run([{ type: "add", op: "neg", at: [0, 0], table: T }]);
    expect(s.created).toEqual(["n1"]);
    expect([...s.selected]).toEqual(["n1"]);
    expect(s.history.present.nodes.map((n) => n.id)).toEqual(["n1"]);
    const u = editorReducer(s, { type: "undo" });
    expect(u.history.present.nodes).toHaveLength(0);
    expect(redoable(u)).toBe(true);
    expect(editorReducer(u, { type: "redo" }).history.present.nodes).toHaveLength(1);
    // an unknown op changes nothing
    expect(editorReducer(s, { type: "add", op: "nope", at: [0, 0], table: T })).toBe(s);
  });

  it("pastes copies with new ids and selects them", () => {
    const s = run([
      { type: "add", op: "neg", at: [0, 0], table: T },
      { type: "add", op: "sigmoid", at: [100, 0], table: T },
    ]);
    const clip = copyNodes(s.history.present, ["n1", "n2"])!;
    const p = editorReducer(s, { type: "paste", clip, offset: [40, 40] });
    expect(p.created).toHaveLength(2);
    expect(p.created.some((id) => id === "n1" || id === "n2")).toBe(false);
    expect(new Set(p.selected)).toEqual(new Set(p.created));
    expect(p.history.present.nodes).toHaveLength(4);
  });

  it("makes a drag one undo step, and a drag that moved nothing none", () => {
    const s = run([{ type: "add", op: "neg", at: [0, 0], table: T }]);
    const dragged = run(
      [
        { type: "gestureStart", kind: "drag" },
        { type: "gestureMove", fn: (g) => moveNodes(g, { n1: [10, 0] }) },
        { type: "gestureMove", fn: (g) => moveNodes(g, { n1: [20, 0] }) },
        { type: "gestureEnd", kind: "drag" },
      ],
      s,
    );
    expect(dragged.gestures.drag).toBeNull();
    expect(dragged.history.present.positions.n1).toEqual([20, 0]);
    expect(dragged.history.past).toHaveLength(s.history.past.length + 1);
    expect(editorReducer(dragged, { type: "undo" }).history.present.positions.n1).toEqual([0, 0]);

    const still = run([{ type: "gestureStart", kind: "drag" }, { type: "gestureEnd", kind: "drag" }], s);
    expect(still.history).toBe(s.history);
  });

  it("makes a rename one undo step, none when the name ends as it began", () => {
    const s = initialEditorState();
    const typed = (name: string): EditorAction => ({ type: "gestureMove", fn: (g) => setMeta(g, { name }) });
    const renamed = run([{ type: "gestureStart", kind: "rename" }, typed("a"), typed("ab"), { type: "gestureEnd", kind: "rename" }], s);
    expect(renamed.history.present.name).toBe("ab");
    expect(renamed.history.past).toHaveLength(1);
    const back = run(
      [{ type: "gestureStart", kind: "rename" }, typed("x"), typed(s.history.present.name), { type: "gestureEnd", kind: "rename" }],
      s,
    );
    expect(undoable(back)).toBe(false);
    // ending a gesture of another kind does nothing
    const other = run([{ type: "gestureStart", kind: "rename" }, { type: "gestureEnd", kind: "drag" }], s);
    expect(other.gestures.rename).not.toBeNull();
  });

  it("selects, selects all and clears the selection when a node is deleted", () => {
    const s = run([
      { type: "add", op: "neg", at: [0, 0], table: T },
      { type: "add", op: "sigmoid", at: [0, 0], table: T },
      { type: "select", ids: new Set(["n1"]) },
    ]);
    expect([...s.selected]).toEqual(["n1"]);
    expect([...editorReducer(s, { type: "select", ids: (prev) => new Set([...prev, "n2"]) }).selected]).toEqual(["n1", "n2"]);
    expect(new Set(editorReducer(s, { type: "selectAll" }).selected)).toEqual(new Set(["n1", "n2"]));
    const d = editorReducer(s, { type: "deleteNode", id: "n1" });
    expect(d.selected.size).toBe(0);
    expect(d.history.present.nodes.map((n) => n.id)).toEqual(["n2"]);
  });

  it("records a save (trimming the name as one more step) and a restore", () => {
    const s = run([
      { type: "edit", fn: (g) => setMeta(g, { name: " mine " }) },
      { type: "add", op: "neg", at: [0, 0], table: T },
    ]);
    const named = setMeta(s.history.present, { name: "mine" });
    const saved = editorReducer(s, { type: "saved", layer: savedLayer(named), documentKey: keyOf(named), rename: "mine" });
    expect(saved.history.present.name).toBe("mine");
    expect(saved.layer?.id).toBe(7);
    expect(isDirty(saved, keyOf(saved.history.present))).toBe(false);

    const old = fromDocument({ ...(bnRelu as GraphDocument), name: "old" });
    const restored = editorReducer(saved, { type: "restored", layer: { ...savedLayer(old, 3), layout_only: false } });
    expect(restored.history.present.name).toBe("old");
    expect(restored.layer?.version).toBe(3);
    expect(isDirty(restored, keyOf(restored.history.present))).toBe(false);
    expect(editorReducer(restored, { type: "undo" }).history.present.name).toBe("mine");
  });

  it("applies actions at once and tells subscribers only about changes", () => {
    const store = createEditorStore();
    const listener = vi.fn();
    const off = store.subscribe(listener);
    const after = store.dispatch({ type: "add", op: "neg", at: [0, 0], table: T });
    expect(after.created).toEqual(["n1"]);
    expect(store.getState()).toBe(after);
    expect(listener).toHaveBeenCalledTimes(1);
    store.dispatch({ type: "undo" });
    store.dispatch({ type: "undo" }); // nothing left to undo: no change, no call
    expect(listener).toHaveBeenCalledTimes(2);
    off();
    store.dispatch({ type: "redo" });
    expect(listener).toHaveBeenCalledTimes(2);
  });
});
