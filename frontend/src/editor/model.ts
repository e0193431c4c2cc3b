/**
 * The editor's graph model in plain TypeScript (no React): the document ⇄
 * editor-graph conversion and the pure edits the canvas applies.
 *
 * The editor graph is the document with room for work in progress: an input
 * slot may be empty (null) and the output may be unset. `toDocument` always
 * writes an exact `layer-graph/1` document; positions of op nodes, of the four
 * fixed inputs and of the output sink live under `ui.positions`.
 *
 * Unfinished work the output does not use (a node with an empty input slot,
 * and the nodes fed by it) is written under `ui.drafts` instead of `nodes`:
 * the format allows unused nodes but not an input that names nothing, so the
 * saved document stays valid and computes the same, and the editor gets the
 * drafts back when it opens the document again.
 */
import type { GraphDocument, GraphNode } from "../api/types";
import { FORMAT, INPUTS, type OpTable } from "./opTable";

export type XY = [number, number];

export interface EditorNode {
  id: string;
  op: string;
  /** Producer of each slot: a node id, an input name, or null while unconnected. */
  inputs: Array<string | null>;
  params?: Record<string, number>;
}

export interface EditorGraph {
  name: string;
  /** Kept exactly as the document had them (undefined: the format's default). */
  eps?: number;
  momentum?: number;
  nodes: EditorNode[];
  output: string | null;
  /** Positions of op nodes (by id), of the inputs (by name) and of the sink (OUTPUT_KEY). */
  positions: Record<string, XY>;
  /** Other `ui` keys of the document, carried through untouched. */
  uiExtra: Record<string, unknown>;
}

/** Key of the output sink's position; `@` cannot occur in a node id. */
export const OUTPUT_KEY = "@output";

export function isInputName(name: string): boolean {
  return (INPUTS as readonly string[]).includes(name);
}

export function emptyGraph(name = "Untitled layer"): EditorGraph {
  // The sink starts well to the right so there is room to draw between inputs and output.
  return { name, eps: 1e-5, momentum: 0.1, nodes: [], output: null, positions: { ...defaultFixedPositions(0), [OUTPUT_KEY]: [900, 150] }, uiExtra: {} };
}

function defaultFixedPositions(depth: number): Record<string, XY> {
  return {
    x: [0, 0],
    zero: [0, 110],
    v0: [0, 220],
    v1: [0, 330],
    [OUTPUT_KEY]: [(depth + 1) * 220, 0],
  };
}

// --- conversion ------------------------------------------------------------------

/** Key under `ui` of the unfinished nodes the output does not use. */
export const DRAFTS_KEY = "drafts";

/** Drafts read back from `ui.drafts`: well-formed entries whose ids are still free. */
function readDrafts(raw: unknown, taken: Set<string>): EditorNode[] {
  if (!Array.isArray(raw)) return [];
  const out: EditorNode[] = [];
  for (const d of raw) {
    if (!d || typeof d !== "object") continue;
    const { id, op, inputs, params } = d as Record<string, unknown>;
    if (typeof id !== "string" || !id || taken.has(id) || typeof op !== "string" || !Array.isArray(inputs)) continue;
    if (!inputs.every((i) => i === null || typeof i === "string")) continue;
    const node: EditorNode = { id, op, inputs: inputs.map((i) => (i === "" ? null : (i as string | null))) };
    if (params && typeof params === "object" && Object.values(params).every((v) => typeof v === "number"))
      node.params = { ...(params as Record<string, number>) };
    taken.add(id);
    out.push(node);
  }
  return out;
}

export function fromDocument(doc: GraphDocument): EditorGraph {
  const { positions: rawPositions, [DRAFTS_KEY]: rawDrafts, ...uiExtra } = (doc.ui ?? {}) as {
    positions?: Record<string, unknown>;
    drafts?: unknown;
    [key: string]: unknown;
  };
  const nodes: EditorNode[] = (doc.nodes ?? []).map((n) => {
    const node: EditorNode = { id: n.id, op: n.op, inputs: [...(n.inputs ?? [])] };
    if (n.params !== undefined) node.params = { ...n.params };
    return node;
  });
  nodes.push(...readDrafts(rawDrafts, new Set(nodes.map((n) => n.id))));
  const graph: EditorGraph = {
    name: doc.name ?? "",
    nodes,
    output: doc.output ? doc.output : null,
    positions: {},
    uiExtra,
  };
  if (doc.eps !== undefined) graph.eps = doc.eps;
  if (doc.momentum !== undefined) graph.momentum = doc.momentum;
  const auto = layeredPositions(graph);
  const given: Record<string, XY> = {};
  if (rawPositions && typeof rawPositions === "object") {
    for (const [key, value] of Object.entries(rawPositions)) {
      if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === "number" && Number.isFinite(v)))
        given[key] = [value[0], value[1]];
    }
  }
  graph.positions = { ...auto, ...given };
  return graph;
}

/**
 * Nodes kept in the editor only: those with an empty input slot, and every node
 * fed by one, that the output does not depend on. No node left in the document
 * reads from one of them (a reader of a draft is itself a draft or is used by
 * the output, and then so would the draft be).
 */
export function draftNodes(g: EditorGraph): Set<string> {
  const used = g.output ? ancestors(g, g.output) : new Set<string>();
  const drafts = new Set(g.nodes.filter((n) => n.inputs.some((s) => !s)).map((n) => n.id));
  let grew = drafts.size > 0;
  while (grew) {
    grew = false;
    for (const n of g.nodes)
      if (!drafts.has(n.id) && n.inputs.some((s) => s && drafts.has(s))) {
        drafts.add(n.id);
        grew = true;
      }
  }
  for (const id of [...drafts]) if (used.has(id)) drafts.delete(id);
  return drafts;
}

export function toDocument(g: EditorGraph): GraphDocument {
  const doc: GraphDocument = { format: FORMAT, name: g.name, nodes: [], output: g.output ?? "" };
  if (g.eps !== undefined) doc.eps = g.eps;
  if (g.momentum !== undefined) doc.momentum = g.momentum;
  const drafts = draftNodes(g);
  const written: GraphNode[] = [];
  const kept: Array<{ id: string; op: string; inputs: Array<string | null>; params?: Record<string, number> }> = [];
  for (const n of g.nodes) {
    if (drafts.has(n.id)) {
      const d: (typeof kept)[number] = { id: n.id, op: n.op, inputs: [...n.inputs] };
      if (n.params !== undefined) d.params = { ...n.params };
      kept.push(d);
      continue;
    }
    const out: GraphNode = { id: n.id, op: n.op, inputs: n.inputs.map((i) => i ?? "") };
    if (n.params !== undefined) out.params = { ...n.params };
    written.push(out);
  }
  doc.nodes = written;
  // Re-insert in the format's key order (format, name, eps, momentum, nodes, output, ui).
  const ordered: GraphDocument = { format: doc.format, name: doc.name } as GraphDocument;
  if (doc.eps !== undefined) ordered.eps = doc.eps;
  if (doc.momentum !== undefined) ordered.momentum = doc.momentum;
  ordered.nodes = doc.nodes;
  ordered.output = doc.output;
  const positions: Record<string, XY> = {};
  for (const [key, xy] of Object.entries(g.positions)) positions[key] = [Math.round(xy[0]), Math.round(xy[1])];
  ordered.ui = { ...g.uiExtra, positions };
  if (kept.length) ordered.ui[DRAFTS_KEY] = kept;
  return ordered;
}

/** The document without `ui`: what the layer computes, for comparisons. */
export function semanticDocument(doc: GraphDocument): Omit<GraphDocument, "ui"> {
  const { ui: _ui, ...rest } = doc;
  void _ui;
  return rest;
}

// --- structure helpers ---------------------------------------------------------------

export function nodeMap(g: EditorGraph): Map<string, EditorNode> {
  return new Map(g.nodes.map((n) => [n.id, n]));
}

/** Ids (nodes and inputs) that `start` depends on, `start` included. */
export function ancestors(g: EditorGraph, start: string): Set<string> {
  const byId = nodeMap(g);
  const seen = new Set<string>();
  const stack = [start];
  while (stack.length) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    for (const src of byId.get(id)?.inputs ?? []) if (src && !seen.has(src)) stack.push(src);
  }
  return seen;
}

/** Whether feeding `source` into node `target` would close a cycle. */
export function wouldCreateCycle(g: EditorGraph, source: string, target: string): boolean {
  if (source === target) return true;
  if (isInputName(source)) return false;
  return ancestors(g, source).has(target);
}

export type ConnectVerdict = { ok: true } | { ok: false; reason: string };

/**
 * May `source` be connected to slot `slot` of `target` (a node id or OUTPUT_KEY)?
 * Refuses cycles; a slot that already holds a connection gets the new one
 * instead (see `connectionReplaces`).
 */
export function canConnect(g: EditorGraph, source: string, target: string, slot: number, table: OpTable): ConnectVerdict {
  const byId = nodeMap(g);
  if (!isInputName(source) && !byId.has(source)) return { ok: false, reason: `${source} does not exist` };
  if (target === OUTPUT_KEY) {
    if (isInputName(source)) return { ok: false, reason: "the output must be a node, not an input" };
    return { ok: true };
  }
  const node = byId.get(target);
  if (!node) return { ok: false, reason: `${target} does not exist` };
  const arity = table[node.op]?.arity ?? node.inputs.length;
  if (slot < 0 || slot >= Math.max(arity, node.inputs.length)) return { ok: false, reason: `${node.op} has no slot ${slot + 1}` };
  if (wouldCreateCycle(g, source, target)) return { ok: false, reason: `connecting ${source} to ${target} would make a cycle` };
  return { ok: true };
}

/** What a new connection into `slot` of `target` would take the place of (null: the slot is free). */
export function connectionReplaces(g: EditorGraph, target: string, slot: number): string | null {
  if (target === OUTPUT_KEY) return g.output;
  return nodeMap(g).get(target)?.inputs[slot] ?? null;
}

// --- edits (pure: each returns a new graph) --------------------------------------------

export function nextNodeId(g: EditorGraph, taken: Set<string> = new Set()): string {
  const used = new Set([...g.nodes.map((n) => n.id), ...taken]);
  let k = 1;
  for (const id of used) {
    const m = /^n(\d+)$/.exec(id);
    if (m) k = Math.max(k, Number(m[1]) + 1);
  }
  while (used.has(`n${k}`)) k += 1;
  return `n${k}`;
}

export function defaultParams(table: OpTable, op: string): Record<string, number> | undefined {
  const spec = table[op];
  if (!spec || Object.keys(spec.params).length === 0) return undefined;
  const params: Record<string, number> = {};
  for (const [key, p] of Object.entries(spec.params)) params[key] = p.default ?? 1;
  return params;
}

export function addNode(g: EditorGraph, op: string, at: XY, table: OpTable): { graph: EditorGraph; id: string } {
  const id = nextNodeId(g);
  const arity = table[op]?.arity ?? 1;
  const node: EditorNode = { id, op, inputs: Array.from({ length: arity }, () => null) };
  const params = defaultParams(table, op);
  if (params) node.params = params;
  return { graph: { ...g, nodes: [...g.nodes, node], positions: { ...g.positions, [id]: at } }, id };
}

export function connect(g: EditorGraph, source: string, target: string, slot: number): EditorGraph {
  if (target === OUTPUT_KEY) return { ...g, output: source };
  return {
    ...g,
    nodes: g.nodes.map((n) => {
      if (n.id !== target) return n;
      const inputs = [...n.inputs];
      while (inputs.length <= slot) inputs.push(null);
      inputs[slot] = source;
      return { ...n, inputs };
    }),
  };
}

export function disconnect(g: EditorGraph, target: string, slot: number): EditorGraph {
  if (target === OUTPUT_KEY) return { ...g, output: null };
  return {
    ...g,
    nodes: g.nodes.map((n) =>
      n.id === target ? { ...n, inputs: n.inputs.map((src, i) => (i === slot ? null : src)) } : n,
    ),
  };
}

export function removeNodes(g: EditorGraph, ids: Iterable<string>): EditorGraph {
  const gone = new Set(ids);
  const positions = { ...g.positions };
  for (const id of gone) delete positions[id];
  return {
    ...g,
    nodes: g.nodes
      .filter((n) => !gone.has(n.id))
      .map((n) => (n.inputs.some((s) => s && gone.has(s)) ? { ...n, inputs: n.inputs.map((s) => (s && gone.has(s) ? null : s)) } : n)),
    output: g.output && gone.has(g.output) ? null : g.output,
    positions,
  };
}

/** A connection, as the canvas draws it: `source` feeds slot `slot` of `target` (a node id or OUTPUT_KEY). */
export interface Wire {
  source: string;
  target: string;
  slot: number;
}

/**
 * Whether node `id` can be spliced into `wire`: an op node with at least one
 * input, no connection yet (no input filled, nobody reading it, not the
 * output), and not an end of the wire itself.
 */
export function canSplice(g: EditorGraph, id: string, wire: Wire): boolean {
  const node = nodeMap(g).get(id);
  if (!node || node.inputs.length === 0 || node.inputs.some((s) => s)) return false;
  if (wire.source === id || wire.target === id || g.output === id) return false;
  if (g.nodes.some((n) => n.inputs.includes(id))) return false;
  const current = wire.target === OUTPUT_KEY ? g.output : nodeMap(g).get(wire.target)?.inputs[wire.slot];
  return current === wire.source;
}

/** Puts node `id` on `wire`: source → id (first slot) → target. Unchanged when `canSplice` says no. */
export function spliceNode(g: EditorGraph, id: string, wire: Wire): EditorGraph {
  if (!canSplice(g, id, wire)) return g;
  return connect(connect(g, wire.source, id, 0), id, wire.target, wire.slot);
}

export function setParam(g: EditorGraph, id: string, key: string, value: number): EditorGraph {
  return { ...g, nodes: g.nodes.map((n) => (n.id === id ? { ...n, params: { ...(n.params ?? {}), [key]: value } } : n)) };
}

export function setOutput(g: EditorGraph, id: string | null): EditorGraph {
  return { ...g, output: id };
}

export function moveNodes(g: EditorGraph, moves: Record<string, XY>): EditorGraph {
  return { ...g, positions: { ...g.positions, ...moves } };
}

export function setMeta(g: EditorGraph, meta: { name?: string; eps?: number; momentum?: number }): EditorGraph {
  return { ...g, ...meta };
}

// --- copy and paste ----------------------------------------------------------------------

export interface Clipboard {
  nodes: EditorNode[];
  positions: Record<string, XY>;
}

export function copyNodes(g: EditorGraph, ids: Iterable<string>): Clipboard | null {
  const wanted = new Set(ids);
  const nodes = g.nodes.filter((n) => wanted.has(n.id)).map((n) => structuredClone(n));
  if (nodes.length === 0) return null;
  const positions: Record<string, XY> = {};
  for (const n of nodes) positions[n.id] = g.positions[n.id] ?? [0, 0];
  return { nodes, positions };
}

/**
 * Pastes copies with fresh ids, shifted by `offset`. Connections among the
 * copied nodes follow the copies; connections to inputs and to nodes that still
 * exist are kept; anything else becomes an empty slot.
 */
export function pasteNodes(g: EditorGraph, clip: Clipboard, offset: XY = [40, 40]): { graph: EditorGraph; ids: string[] } {
  const rename = new Map<string, string>();
  const taken = new Set<string>();
  for (const n of clip.nodes) {
    const id = nextNodeId(g, taken);
    taken.add(id);
    rename.set(n.id, id);
  }
  const existing = new Set(g.nodes.map((n) => n.id));
  const positions = { ...g.positions };
  const added = clip.nodes.map((n) => {
    const id = rename.get(n.id)!;
    const [x, y] = clip.positions[n.id] ?? [0, 0];
    positions[id] = [x + offset[0], y + offset[1]];
    const copy: EditorNode = {
      id,
      op: n.op,
      inputs: n.inputs.map((s) => (s === null ? null : rename.get(s) ?? (isInputName(s) || existing.has(s) ? s : null))),
    };
    if (n.params) copy.params = { ...n.params };
    return copy;
  });
  return { graph: { ...g, nodes: [...g.nodes, ...added], positions }, ids: added.map((n) => n.id) };
}

// --- layout ---------------------------------------------------------------------------

/**
 * A quick deterministic layered layout (column = longest path from the inputs),
 * used when a document has no positions; the toolbar's "auto layout" uses ELK.
 */
export function layeredPositions(g: EditorGraph): Record<string, XY> {
  const byId = nodeMap(g);
  const depth = new Map<string, number>();
  const visiting = new Set<string>();
  const depthOf = (id: string): number => {
    if (isInputName(id) || !byId.has(id)) return 0;
    const known = depth.get(id);
    if (known !== undefined) return known;
    if (visiting.has(id)) return 1; // a cycle: any column will do
    visiting.add(id);
    const d = 1 + Math.max(0, ...byId.get(id)!.inputs.map((s) => (s ? depthOf(s) : 0)));
    visiting.delete(id);
    depth.set(id, d);
    return d;
  };
  const rows = new Map<number, number>();
  const positions: Record<string, XY> = {};
  let maxDepth = 0;
  for (const n of g.nodes) {
    const d = depthOf(n.id);
    maxDepth = Math.max(maxDepth, d);
    const row = rows.get(d) ?? 0;
    rows.set(d, row + 1);
    positions[n.id] = [d * 220, row * 110];
  }
  const fixed = defaultFixedPositions(maxDepth);
  const outY = g.output ? positions[g.output]?.[1] ?? 0 : 0;
  fixed[OUTPUT_KEY] = [(maxDepth + 1) * 220, outY];
  return { ...fixed, ...positions };
}
