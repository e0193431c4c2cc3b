import { describe, expect, it } from "vitest";
import type { GraphDocument } from "../api/types";
import bnRelu from "./fixtures/bn_relu.json";
import b0 from "./fixtures/evonorm_b0.json";
import b1 from "./fixtures/evonorm_b1.json";
import b2 from "./fixtures/evonorm_b2.json";
import s0 from "./fixtures/evonorm_s0.json";
import s1 from "./fixtures/evonorm_s1.json";
import s2 from "./fixtures/evonorm_s2.json";
import gnRelu from "./fixtures/gn_relu.json";
import {
  addNode,
  canConnect,
  canSplice,
  connect,
  connectionReplaces,
  copyNodes,
  draftNodes,
  disconnect,
  emptyGraph,
  fromDocument,
  OUTPUT_KEY,
  pasteNodes,
  removeNodes,
  semanticDocument,
  setParam,
  spliceNode,
  toDocument,
  wouldCreateCycle,
  type EditorGraph,
} from "./model";
import { BUILTIN_TABLE as T } from "./opTable";
import { validateGraph } from "./validation";
import { canRedo, canUndo, commit, commitFrom, createHistory, redo, replace, undo } from "./history";

const REFERENCES: Record<string, GraphDocument> = {
  "BN-ReLU": bnRelu as GraphDocument,
  "GN-ReLU": gnRelu as GraphDocument,
  "EvoNorm-B0": b0 as GraphDocument,
  "EvoNorm-B1": b1 as GraphDocument,
  "EvoNorm-B2": b2 as GraphDocument,
  "EvoNorm-S0": s0 as GraphDocument,
  "EvoNorm-S1": s1 as GraphDocument,
  "EvoNorm-S2": s2 as GraphDocument,
};

/** Builds EvoNorm-S0 the way a user does: add ops, then connect slots. */
function drawS0(): EditorGraph {
  let g = emptyGraph("S0 by hand");
  const ids: Record<string, string> = {};
  for (const [key, op] of [
    ["vx", "mul"],
    ["sig", "sigmoid"],
    ["num", "mul"],
    ["gv", "group_var"],
    ["gs", "sqrt"],
    ["out", "div"],
  ] as const) {
    const r = addNode(g, op, [0, 0], T);
    g = r.graph;
    ids[key] = r.id;
  }
  const wires: Array<[string, string, number]> = [
    ["v1", ids.vx, 0],
    ["x", ids.vx, 1],
    [ids.vx, ids.sig, 0],
    ["x", ids.num, 0],
    [ids.sig, ids.num, 1],
    ["x", ids.gv, 0],
    [ids.gv, ids.gs, 0],
    [ids.num, ids.out, 0],
    [ids.gs, ids.out, 1],
    [ids.out, OUTPUT_KEY, 0],
  ];
  for (const [src, dst, slot] of wires) {
    expect(canConnect(g, src, dst, slot, T)).toEqual({ ok: true });
    g = connect(g, src, dst, slot);
  }
  return g;
}

describe("conversion", () => {
  for (const [name, doc] of Object.entries(REFERENCES)) {
    it(`round-trips ${name} exactly`, () => {
      const back = toDocument(fromDocument(doc));
      expect(semanticDocument(back)).toEqual(doc);
      expect(Object.keys(back)).toEqual(["format", "name", "eps", "momentum", "nodes", "output", "ui"]);
      // Every node, input and the sink gets a position; a second trip keeps them.
      const positions = back.ui!.positions!;
      for (const n of doc.nodes) expect(positions[n.id]).toHaveLength(2);
      for (const key of ["x", "zero", "v0", "v1", OUTPUT_KEY]) expect(positions[key]).toBeDefined();
      expect(toDocument(fromDocument(back))).toEqual(back);
    });
  }

  it("keeps other ui keys and given positions", () => {
    const doc = { ...(s1 as GraphDocument), ui: { positions: { g: [5, 7] as [number, number] }, note: "hi" } };
    const back = toDocument(fromDocument(doc));
    expect(back.ui!.note).toBe("hi");
    expect(back.ui!.positions!.g).toEqual([5, 7]);
  });

  it("writes an exact document for a graph drawn by hand", () => {
    const doc = toDocument(drawS0());
    expect(doc.output).toBe("n6");
    expect(doc.nodes).toEqual([
      { id: "n1", op: "mul", inputs: ["v1", "x"] },
      { id: "n2", op: "sigmoid", inputs: ["n1"] },
      { id: "n3", op: "mul", inputs: ["x", "n2"] },
      { id: "n4", op: "group_var", inputs: ["x"], params: { groups: 32 } },
      { id: "n5", op: "sqrt", inputs: ["n4"] },
      { id: "n6", op: "div", inputs: ["n3", "n5"] },
    ]);
  });
});

describe("validation mirror", () => {
  it("accepts every reference layer with the right mode and no dead nodes", () => {
    for (const [name, doc] of Object.entries(REFERENCES)) {
      const v = validateGraph(fromDocument(doc), T);
      expect(v.issues, name).toEqual([]);
      expect(v.mode, name).toBe(name.includes("-B") || name.startsWith("BN") ? "B" : "S");
      expect(v.dead.size).toBe(0);
    }
    expect(validateGraph(drawS0(), T).valid).toBe(true);
  });

  it("finds a cycle and refuses the connection that would make one", () => {
    const g = drawS0();
    expect(wouldCreateCycle(g, "n6", "n1")).toBe(true);
    expect(wouldCreateCycle(g, "n2", "n2")).toBe(true);
    expect(wouldCreateCycle(g, "x", "n1")).toBe(false);
    const freed = disconnect(g, "n1", 0);
    const verdict = canConnect(freed, "n3", "n1", 0, T);
    expect(verdict.ok).toBe(false);
    // Forced in anyway (e.g. a hand-edited document): the mirror names the cycle.
    const cyclic = connect(freed, "n3", "n1", 0);
    const v = validateGraph(cyclic, T);
    expect(v.valid).toBe(false);
    expect(new Set(v.issues.filter((i) => i.code === "cycle").map((i) => i.node))).toEqual(new Set(["n1", "n2", "n3"]));
  });

  it("lets a new connection replace the one in an occupied slot or output, in one edit", () => {
    const g = drawS0();
    expect(canConnect(g, "x", "n1", 0, T)).toEqual({ ok: true });
    expect(connectionReplaces(g, "n1", 0)).toBe("v1");
    expect(connect(g, "x", "n1", 0).nodes[0].inputs).toEqual(["x", "x"]);
    expect(canConnect(g, "n5", OUTPUT_KEY, 0, T)).toEqual({ ok: true });
    expect(connectionReplaces(g, OUTPUT_KEY, 0)).toBe("n6");
    const moved = commit(createHistory(g), connect(g, "n5", OUTPUT_KEY, 0));
    expect(moved.present.output).toBe("n5");
    expect(undo(moved).present.output).toBe("n6");
    // Still refused: an input as the output, a slot the op lacks, a cycle.
    expect(canConnect(disconnect(g, OUTPUT_KEY, 0), "x", OUTPUT_KEY, 0, T)).toMatchObject({ ok: false });
    expect(canConnect(g, "x", "n1", 2, T)).toMatchObject({ ok: false });
    expect(canConnect(g, "n6", "n1", 0, T)).toMatchObject({ ok: false });
  });

  it("flags missing inputs per slot and wrong arity", () => {
    const g = disconnect(drawS0(), "n6", 1);
    const v = validateGraph(g, T);
    expect(v.byNode.n6).toEqual([expect.objectContaining({ code: "unknown_input", slot: 1 })]);
    const doc = { ...(s1 as GraphDocument), nodes: [...(s1 as GraphDocument).nodes] };
    doc.nodes[0] = { id: "g", op: "sigmoid", inputs: ["x", "x"] };
    expect(validateGraph(fromDocument(doc), T).byNode.g[0].code).toBe("arity");
  });

  it("flags an unknown input, an unknown op, a bad param and an unknown output", () => {
    const doc = JSON.parse(JSON.stringify(s0)) as GraphDocument;
    doc.nodes[1].inputs = ["nope"];
    doc.nodes[0].op = "frobnicate";
    doc.nodes[3].params = { groups: 0 };
    const v = validateGraph(fromDocument(doc), T);
    const codes = v.issues.map((i) => i.code);
    expect(codes).toContain("unknown_input");
    expect(codes).toContain("unknown_op");
    expect(codes).toContain("out_of_range");
    expect(validateGraph(fromDocument({ ...doc, output: "x" }), T).issues.map((i) => i.code)).toContain("unknown_output");
    expect(validateGraph(setParam(fromDocument(s0 as GraphDocument), "gv", "bogus", 1), T).issues[0].code).toBe("bad_param");
  });

  it("flags an output that does not depend on x, and a missing output", () => {
    let g = emptyGraph();
    const r = addNode(g, "sigmoid", [0, 0], T);
    g = connect(connect(r.graph, "v1", r.id, 0), r.id, OUTPUT_KEY, 0);
    const v = validateGraph(g, T);
    expect(v.issues).toEqual([expect.objectContaining({ code: "output_independent_of_x", node: r.id })]);
    expect(validateGraph(disconnect(g, OUTPUT_KEY, 0), T).issues.map((i) => i.code)).toEqual(["missing_output"]);
  });

  it("greys dead nodes and bases the mode on live nodes only", () => {
    let g = drawS0();
    const r = addNode(g, "batch_var", [0, 0], T);
    g = connect(r.graph, "x", r.id, 0);
    const v = validateGraph(g, T);
    expect(v.valid).toBe(true);
    expect([...v.dead]).toEqual([r.id]);
    expect(v.mode).toBe("S");
    // Feed the batch statistic into the output: now it is live and the layer is B.
    const live = connect(disconnect(g, "n5", 0), r.id, "n5", 0);
    const v2 = validateGraph(live, T);
    expect(v2.dead.size).toBe(1); // the group_var node n4 is now dead
    expect(v2.dead.has("n4")).toBe(true);
    expect(v2.mode).toBe("B");
  });

  it("checks eps, momentum, name length and node count", () => {
    const g = { ...drawS0(), eps: 0, momentum: 2, name: "n".repeat(101) };
    const codes = validateGraph(g, T).issues.map((i) => i.code);
    expect(codes.filter((c) => c === "out_of_range")).toHaveLength(3);
    let big = drawS0();
    for (let i = 0; i < 251; i++) big = addNode(big, "neg", [0, 0], T).graph;
    expect(validateGraph(big, T).issues.map((i) => i.code)).toContain("too_many_nodes");
  });
});

describe("edits", () => {
  it("removes nodes and clears the slots and output that used them", () => {
    const g = removeNodes(drawS0(), ["n5", "n6"]);
    expect(g.output).toBeNull();
    expect(g.nodes.map((n) => n.id)).toEqual(["n1", "n2", "n3", "n4"]);
    expect(g.positions.n5).toBeUndefined();
  });

  it("copies and pastes with fresh ids, keeping inner and outside links", () => {
    const g = drawS0();
    const clip = copyNodes(g, ["n4", "n5"])!;
    const { graph, ids } = pasteNodes(g, clip, [10, 10]);
    expect(ids).toEqual(["n7", "n8"]);
    const [a, b] = graph.nodes.slice(-2);
    expect(a).toEqual({ id: "n7", op: "group_var", inputs: ["x"], params: { groups: 32 } });
    expect(b).toEqual({ id: "n8", op: "sqrt", inputs: ["n7"] });
    // Pasting after the source is gone leaves its links empty.
    const { graph: g2 } = pasteNodes(removeNodes(g, ["n1"]), copyNodes(g, ["n2"])!);
    expect(g2.nodes[g2.nodes.length - 1].inputs).toEqual([null]);
  });
});

describe("unused and unfinished nodes", () => {
  /** S0 plus an `add` fed by x in slot a only, and a `neg` reading it: both unused. */
  function withLoose(): EditorGraph {
    let g = drawS0();
    const a = addNode(g, "add", [10, 20], T);
    g = connect(a.graph, "x", a.id, 0);
    const b = addNode(g, "neg", [30, 40], T);
    return connect(b.graph, a.id, b.id, 0);
  }

  it("makes an unconnected node the output does not use a warning, not an error", () => {
    const v = validateGraph(withLoose(), T);
    expect(v.valid).toBe(true);
    expect(v.issues).toEqual([]);
    expect(v.warnings).toEqual([
      expect.objectContaining({ code: "unfinished_node", node: "n7", slot: 1 }),
      expect.objectContaining({ code: "unused_node", node: "n8" }),
    ]);
    expect(v.warnings[0].message).toContain("kept in the editor only");
    expect(v.byNode.n7).toHaveLength(1);
  });

  it("keeps an empty slot an error when the output uses the node", () => {
    const g = disconnect(drawS0(), "n6", 1);
    const v = validateGraph(g, T);
    expect(v.valid).toBe(false);
    expect(v.issues).toEqual([expect.objectContaining({ code: "unknown_input", node: "n6", slot: 1 })]);
    expect(draftNodes(g).size).toBe(0);
    expect(toDocument(g).nodes.find((n) => n.id === "n6")!.inputs).toEqual(["n3", ""]);
  });

  it("saves unfinished unused nodes under ui.drafts, so the document stays valid, and reads them back", () => {
    const g = withLoose();
    expect([...draftNodes(g)].sort()).toEqual(["n7", "n8"]);
    const doc = toDocument(g);
    expect(doc.nodes.map((n) => n.id)).toEqual(["n1", "n2", "n3", "n4", "n5", "n6"]);
    expect(doc.nodes.flatMap((n) => n.inputs)).not.toContain("");
    expect(doc.ui!.drafts).toEqual([
      { id: "n7", op: "add", inputs: ["x", null] },
      { id: "n8", op: "neg", inputs: ["n7"] },
    ]);
    expect(doc.ui!.positions!.n7).toEqual([10, 20]);
    const back = fromDocument(doc);
    expect(back.nodes).toEqual(g.nodes);
    expect(toDocument(back)).toEqual(doc);
    // A finished unused node stays in the document (the format allows it).
    const done = connect(g, "x", "n7", 1);
    expect(draftNodes(done).size).toBe(0);
    expect(toDocument(done).nodes.map((n) => n.id)).toContain("n8");
    expect(toDocument(done).ui!.drafts).toBeUndefined();
  });

  it("ignores malformed drafts and drafts whose id is taken", () => {
    const doc = { ...(s0 as GraphDocument), ui: { drafts: [{ id: "vx", op: "neg", inputs: [null] }, { id: "q" }, 7, { id: "k", op: "neg", inputs: [""] }] } };
    const g = fromDocument(doc as unknown as GraphDocument);
    expect(g.nodes.filter((n) => n.id === "vx")).toHaveLength(1);
    expect(g.nodes.find((n) => n.id === "k")).toEqual({ id: "k", op: "neg", inputs: [null] });
    expect(g.uiExtra.drafts).toBeUndefined();
  });
});

describe("splicing a node into a connection", () => {
  it("puts a fresh node on a wire, first slot in, output onwards, as one edit", () => {
    const g0 = drawS0();
    const { graph, id } = addNode(g0, "tanh", [0, 0], T);
    const wire = { source: "n3", target: "n6", slot: 0 };
    expect(canSplice(graph, id, wire)).toBe(true);
    const g = spliceNode(graph, id, wire);
    expect(g.nodes.find((n) => n.id === id)!.inputs).toEqual(["n3"]);
    expect(g.nodes.find((n) => n.id === "n6")!.inputs).toEqual([id, "n5"]);
    expect(validateGraph(g, T).valid).toBe(true);
    const h = commit(createHistory(graph), g);
    expect(undo(h).present).toBe(graph);
  });

  it("splices into the wire to the output, and a two-input op through its first slot", () => {
    const { graph, id } = addNode(drawS0(), "add", [0, 0], T);
    const g = spliceNode(graph, id, { source: "n6", target: OUTPUT_KEY, slot: 0 });
    expect(g.output).toBe(id);
    expect(g.nodes.find((n) => n.id === id)!.inputs).toEqual(["n6", null]);
  });

  it("refuses a node that already has connections, an end of the wire, or a wire that is not there", () => {
    const g = drawS0();
    expect(canSplice(g, "n2", { source: "n3", target: "n6", slot: 0 })).toBe(false); // n2 is wired
    const { graph, id } = addNode(g, "neg", [0, 0], T);
    expect(canSplice(graph, id, { source: id, target: "n6", slot: 0 })).toBe(false);
    expect(canSplice(graph, id, { source: "x", target: "n6", slot: 0 })).toBe(false); // n6's slot a holds n3
    expect(spliceNode(graph, id, { source: "x", target: "n6", slot: 0 })).toBe(graph);
  });
});

describe("undo/redo", () => {
  it("walks back and forth through edits", () => {
    let h = createHistory(emptyGraph());
    expect(canUndo(h)).toBe(false);
    const a = addNode(h.present, "neg", [0, 0], T);
    h = commit(h, a.graph);
    h = commit(h, connect(h.present, "x", a.id, 0));
    expect(h.present.nodes[0].inputs).toEqual(["x"]);
    h = undo(h);
    expect(h.present.nodes[0].inputs).toEqual([null]);
    h = undo(h);
    expect(h.present.nodes).toEqual([]);
    expect(canUndo(h)).toBe(false);
    h = redo(redo(h));
    expect(h.present.nodes[0].inputs).toEqual(["x"]);
    expect(canRedo(h)).toBe(false);
    // A new edit after undo drops the redo branch.
    h = commit(undo(h), removeNodes(h.present, [a.id]));
    expect(canRedo(h)).toBe(false);
  });

  it("records a drag as one step", () => {
    let h = createHistory(drawS0());
    const origin = h.present;
    for (let i = 1; i <= 5; i++) h = replace(h, { ...h.present, positions: { ...h.present.positions, n1: [i, i] } });
    h = commitFrom(h, origin, h.present);
    expect(h.past).toHaveLength(1);
    expect(undo(h).present.positions.n1).toEqual(origin.positions.n1);
  });
});
