/**
 * The validation mirror: the rules of GRAPH_FORMAT.md (and the error codes of
 * `search_engine.graph.GraphError`) checked in the browser as the user edits,
 * so problems show on the nodes at once. The server re-checks everything and
 * its verdict is shown beside this one; where they differ, the server is right.
 */
import type { Mode } from "../api/types";
import { ancestors, draftNodes, isInputName, nodeMap, type EditorGraph } from "./model";
import { ID_RE, isBatchOp, MAX_NAME_LENGTH, MAX_NODES, type OpTable } from "./opTable";

export interface Issue {
  /** The server's code for the rule (`cycle`, `arity`, `unknown_input`, ...). */
  code: string;
  message: string;
  node: string | null;
  /** The input slot concerned, for slot-level problems. */
  slot?: number;
}

export interface Validation {
  /** No errors (warnings do not count). */
  valid: boolean;
  /** Errors: the document is rejected while any is left. */
  issues: Issue[];
  /**
   * Warnings, in the user's terms: nodes the output does not use (`unused_node`),
   * and among them unfinished ones kept in the editor only (`unfinished_node`).
   * The layer stays valid and its formula is shown.
   */
  warnings: Issue[];
  /** Errors and warnings by node. */
  byNode: Record<string, Issue[]>;
  /** Nodes the output depends on (empty while there is no usable output). */
  live: Set<string>;
  /** Nodes the output does not depend on (greyed; not computed, not exported). */
  dead: Set<string>;
  /** `B` when a live node (every node, while there is no output) is a batch_* op. */
  mode: Mode;
  /** Nodes that lie on a cycle. */
  cycle: Set<string>;
}

/** Nodes on some cycle (Tarjan's strongly connected components, plus self-loops). */
export function findCycleNodes(g: EditorGraph): Set<string> {
  const byId = nodeMap(g);
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const result = new Set<string>();
  const strong = (v: string) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    onStack.add(v);
    for (const w of byId.get(v)!.inputs) {
      if (!w || !byId.has(w)) continue;
      if (!idx.has(w)) {
        strong(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const comp: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        comp.push(w);
      } while (w !== v);
      if (comp.length > 1 || byId.get(v)!.inputs.includes(v)) comp.forEach((c) => result.add(c));
    }
  };
  for (const id of byId.keys()) if (!idx.has(id)) strong(id);
  return result;
}

export function validateGraph(g: EditorGraph, table: OpTable): Validation {
  const issues: Issue[] = [];
  const warnings: Issue[] = [];
  const add = (code: string, message: string, node: string | null = null, slot?: number) =>
    issues.push(slot === undefined ? { code, message, node } : { code, message, node, slot });
  // An empty slot on a node the output does not use is unfinished work, not an error:
  // toDocument keeps such nodes under ui.drafts, so the saved layer stays valid.
  const drafts = g.output ? draftNodes(g) : new Set<string>();

  if (g.name.length > MAX_NAME_LENGTH) add("out_of_range", `The name is longer than ${MAX_NAME_LENGTH} characters.`);
  for (const [key, value, max] of [
    ["eps", g.eps, 0.1],
    ["momentum", g.momentum, 1],
  ] as const) {
    if (value === undefined) continue;
    if (!Number.isFinite(value)) add("not_finite", `${key} must be a finite number.`);
    else if (!(value > 0 && value <= max)) add("out_of_range", `${key} must be in (0, ${max}].`);
  }
  if (g.nodes.length > MAX_NODES) add("too_many_nodes", `A layer has at most ${MAX_NODES} nodes (this one has ${g.nodes.length}).`);

  const ids = new Set<string>();
  for (const n of g.nodes) {
    if (!ID_RE.test(n.id)) add("bad_id", `Node id ${JSON.stringify(n.id)} must be 1-32 characters of A-Z, a-z, 0-9, _ or -.`, n.id);
    if (isInputName(n.id)) add("reserved_id", `Node id ${n.id} shadows the input of the same name.`, n.id);
    if (ids.has(n.id)) add("duplicate_id", `Two nodes have the id ${n.id}.`, n.id);
    ids.add(n.id);
  }
  for (const n of g.nodes) {
    const spec = table[n.op];
    if (!spec) {
      add("unknown_op", `Unknown op ${JSON.stringify(n.op)}.`, n.id);
      continue;
    }
    if (n.inputs.length !== spec.arity)
      add("arity", `${n.op} takes ${spec.arity} input${spec.arity === 1 ? "" : "s"}, node ${n.id} has ${n.inputs.length}.`, n.id);
    n.inputs.forEach((src, slot) => {
      const label = spec.slots[slot] ?? String(slot + 1);
      if ((src === null || src === "") && drafts.has(n.id))
        warnings.push({
          code: "unfinished_node",
          message: `Input ${label} of ${n.id} (${n.op}) is empty. The output does not use ${n.id}, so it is kept in the editor only and left out of the layer.`,
          node: n.id,
          slot,
        });
      else if (src === null || src === "") add("unknown_input", `Input ${label} of ${n.id} (${n.op}) is not connected.`, n.id, slot);
      else if (!isInputName(src) && !ids.has(src)) add("unknown_input", `Input ${label} of ${n.id} names ${src}, which does not exist.`, n.id, slot);
    });
    for (const [key, value] of Object.entries(n.params ?? {})) {
      const p = spec.params[key];
      if (!p) add("bad_param", `${n.op} takes no parameter ${key}.`, n.id);
      else if (typeof value !== "number" || !Number.isInteger(value)) add("bad_type", `${key} of ${n.id} must be an integer.`, n.id);
      else if ((p.min !== undefined && value < p.min) || (p.max !== undefined && value > p.max))
        add("out_of_range", `${key} of ${n.id} must be between ${p.min} and ${p.max}.`, n.id);
    }
  }

  const cycle = findCycleNodes(g);
  for (const id of cycle) add("cycle", `Node ${id} is part of a cycle.`, id);

  let live = new Set<string>();
  let dead = new Set<string>();
  if (!g.output) add("missing_output", "No node is connected to the output.");
  else if (!ids.has(g.output))
    add("unknown_output", `The output names ${g.output}, which is not a node${isInputName(g.output) ? " (inputs are not nodes)" : ""}.`);
  else {
    const deps = ancestors(g, g.output);
    if (!cycle.size && !deps.has("x")) add("output_independent_of_x", `The output (${g.output}) does not depend on x.`, g.output);
    live = new Set([...deps].filter((id) => ids.has(id)));
    dead = new Set(g.nodes.filter((n) => !live.has(n.id)).map((n) => n.id));
    const flagged = new Set(warnings.map((w) => w.node));
    for (const id of dead)
      if (!flagged.has(id))
        warnings.push({
          code: "unused_node",
          message: drafts.has(id)
            ? `${id} (${byIdOp(g, id)}) is not used by the output and reads from an unfinished node, so it is kept in the editor only.`
            : `${id} (${byIdOp(g, id)}) is not used by the output: it is neither computed nor exported.`,
          node: id,
        });
  }

  const modeNodes = g.output && ids.has(g.output) ? g.nodes.filter((n) => live.has(n.id)) : g.nodes;
  const mode: Mode = modeNodes.some((n) => isBatchOp(table, n.op)) ? "B" : "S";

  const byNode: Record<string, Issue[]> = {};
  for (const issue of [...issues, ...warnings]) if (issue.node) (byNode[issue.node] ??= []).push(issue);
  return { valid: issues.length === 0, issues, warnings, byNode, live, dead, mode, cycle };
}

/** Whether an issue is a warning (it does not make the layer invalid). */
export function isWarning(issue: Issue): boolean {
  return issue.code === "unused_node" || issue.code === "unfinished_node";
}

function byIdOp(g: EditorGraph, id: string): string {
  return g.nodes.find((n) => n.id === id)?.op ?? "?";
}
