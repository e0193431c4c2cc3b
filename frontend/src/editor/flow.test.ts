import { describe, expect, it } from "vitest";
import type { GraphDocument } from "../api/types";
import s0 from "./fixtures/evonorm_s0.json";
import { docIdOf, modelKeyOf, slotOfHandle, toFlow } from "./flow";
import { addNode, connect, fromDocument, OUTPUT_KEY } from "./model";
import { BUILTIN_TABLE as T } from "./opTable";
import { validateGraph } from "./validation";

describe("toFlow", () => {
  it("gives the inputs, every node and the sink, with one edge per filled slot", () => {
    const g = fromDocument(s0 as GraphDocument);
    const { nodes, edges } = toFlow(g, validateGraph(g, T), T);
    expect(nodes.map((n) => n.id)).toEqual(["@x", "@zero", "@v0", "@v1", "vx", "g", "num", "gv", "gs", "out", OUTPUT_KEY]);
    expect(edges).toHaveLength(9 + 1);
    const e = edges.find((x) => x.target === "out" && x.targetHandle === "in1")!;
    expect(e.source).toBe("gs");
    expect(edges.find((x) => x.target === "vx" && x.targetHandle === "in0")!.source).toBe("@v1");
    expect(edges.find((x) => x.target === OUTPUT_KEY)!.source).toBe("out");
    const gv = nodes.find((n) => n.id === "gv")!;
    expect(gv.data).toMatchObject({ op: "group_var", slots: ["a"], params: { groups: 32 }, dead: false });
    expect(nodes.find((n) => n.id === "@x")!.deletable).toBe(false);
  });

  it("marks dead nodes, issues and the selection", () => {
    let g = fromDocument(s0 as GraphDocument);
    const r = addNode(g, "add", [0, 0], T);
    g = connect(r.graph, "x", r.id, 0);
    const { nodes, edges } = toFlow(g, validateGraph(g, T), T, { selected: new Set([r.id]) });
    const n = nodes.find((x) => x.id === r.id)!;
    expect(n.selected).toBe(true);
    expect(n.data).toMatchObject({ dead: true });
    expect((n.data as { issues: Array<{ slot?: number }> }).issues[0].slot).toBe(1);
    expect(edges.find((x) => x.target === r.id)!.className).toBe("edge-dead");
  });

  it("maps React Flow ids and handles back to the model", () => {
    expect(docIdOf("@x")).toBe("x");
    expect(docIdOf("n3")).toBe("n3");
    expect(docIdOf(OUTPUT_KEY)).toBe(OUTPUT_KEY);
    expect(modelKeyOf("@v1")).toBe("v1");
    expect(slotOfHandle("in1")).toBe(1);
    expect(slotOfHandle("out")).toBe(-1);
  });
});
