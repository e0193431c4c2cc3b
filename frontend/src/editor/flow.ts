/**
 * Editor graph → React Flow nodes and edges (and back for ids). Plain data,
 * so the canvas component stays thin. React Flow ids: an op node keeps its
 * document id; the inputs are `@x`, `@zero`, `@v0`, `@v1`; the sink `@output`.
 */
import type { Edge, Node } from "@xyflow/react";
import type { Mode, OpSpec } from "../api/types";
import { isInputName, OUTPUT_KEY, type EditorGraph, type XY } from "./model";
import { INPUT_DESCRIPTIONS, INPUTS, isBatchOp, type OpTable } from "./opTable";
import type { Issue, Validation } from "./validation";

export const inputRfId = (name: string) => `@${name}`;

/** The document name (node id or input name) a React Flow source id stands for. */
export function docIdOf(rfId: string): string {
  return rfId.startsWith("@") && rfId !== OUTPUT_KEY ? rfId.slice(1) : rfId;
}

export function slotOfHandle(handle: string | null | undefined): number {
  const m = /^in(\d+)$/.exec(handle ?? "");
  return m ? Number(m[1]) : -1;
}

export interface OpNodeData extends Record<string, unknown> {
  op: string;
  spec: OpSpec | undefined;
  slots: string[];
  params: Record<string, number> | undefined;
  issues: Issue[];
  dead: boolean;
  isOutput: boolean;
  batch: boolean;
  readOnly: boolean;
}
export interface InputNodeData extends Record<string, unknown> {
  name: string;
  description: string;
  used: boolean;
}
export interface OutputNodeData extends Record<string, unknown> {
  mode: Mode;
  issues: Issue[];
  connected: boolean;
  readOnly: boolean;
}

export type OpFlowNode = Node<OpNodeData, "op">;
export type InputFlowNode = Node<InputNodeData, "labInput">;
export type OutputFlowNode = Node<OutputNodeData, "labOutput">;
export type FlowNode = OpFlowNode | InputFlowNode | OutputFlowNode;

export interface EdgeData extends Record<string, unknown> {
  target: string;
  slot: number;
}

const toPos = (xy: XY | undefined) => ({ x: xy?.[0] ?? 0, y: xy?.[1] ?? 0 });

export interface FlowOptions {
  selected?: Set<string>;
  measured?: Record<string, { width: number; height: number }>;
  readOnly?: boolean;
}

export function toFlow(
  g: EditorGraph,
  v: Validation,
  table: OpTable,
  opts: FlowOptions = {},
): { nodes: FlowNode[]; edges: Edge<EdgeData>[] } {
  const selected = opts.selected ?? new Set<string>();
  const readOnly = Boolean(opts.readOnly);
  const withMeasured = <T extends FlowNode>(n: T): T => {
    const m = opts.measured?.[n.id];
    return m ? { ...n, measured: m } : n;
  };
  const used = new Set<string>();
  for (const n of g.nodes) for (const s of n.inputs) if (s && isInputName(s)) used.add(s);
  const nodes: FlowNode[] = [];
  for (const name of INPUTS) {
    const id = inputRfId(name);
    nodes.push(
      withMeasured<InputFlowNode>({
        id,
        type: "labInput",
        position: toPos(g.positions[name]),
        data: { name, description: INPUT_DESCRIPTIONS[name] ?? "", used: used.has(name) },
        deletable: false,
        selected: selected.has(id),
        ariaLabel: `input ${name}`,
      }),
    );
  }
  const ids = new Set(g.nodes.map((n) => n.id));
  for (const n of g.nodes) {
    const spec = table[n.op];
    const count = Math.max(spec?.arity ?? 0, n.inputs.length);
    const slots = Array.from({ length: count }, (_, i) => spec?.slots[i] ?? String.fromCharCode(97 + i));
    nodes.push(
      withMeasured<OpFlowNode>({
        id: n.id,
        type: "op",
        position: toPos(g.positions[n.id]),
        data: {
          op: n.op,
          spec,
          slots,
          params: n.params,
          issues: v.byNode[n.id] ?? [],
          dead: v.dead.has(n.id),
          isOutput: g.output === n.id,
          batch: isBatchOp(table, n.op),
          readOnly,
        },
        selected: selected.has(n.id),
        ariaLabel: `${n.op} node ${n.id}`,
      }),
    );
  }
  const outputIssues = v.issues.filter((i) =>
    ["missing_output", "unknown_output", "output_independent_of_x"].includes(i.code),
  );
  nodes.push(
    withMeasured<OutputFlowNode>({
      id: OUTPUT_KEY,
      type: "labOutput",
      position: toPos(g.positions[OUTPUT_KEY]),
      data: { mode: v.mode, issues: outputIssues, connected: Boolean(g.output && ids.has(g.output)), readOnly },
      deletable: false,
      selected: selected.has(OUTPUT_KEY),
      ariaLabel: "layer output",
    }),
  );

  const edges: Edge<EdgeData>[] = [];
  const sourceRf = (src: string) => (isInputName(src) ? inputRfId(src) : ids.has(src) ? src : null);
  for (const n of g.nodes) {
    n.inputs.forEach((src, slot) => {
      const source = src ? sourceRf(src) : null;
      if (!source) return;
      const id = `${source}->${n.id}#${slot}`;
      edges.push({
        id,
        source,
        sourceHandle: "out",
        target: n.id,
        targetHandle: `in${slot}`,
        data: { target: n.id, slot },
        selected: selected.has(id),
        className: v.dead.has(n.id) ? "edge-dead" : v.cycle.has(n.id) && v.cycle.has(src!) ? "edge-cycle" : undefined,
        ariaLabel: `${src} to input ${slot + 1} of ${n.id}`,
      });
    });
  }
  if (g.output && ids.has(g.output)) {
    const id = `${g.output}->${OUTPUT_KEY}#0`;
    edges.push({
      id,
      source: g.output,
      sourceHandle: "out",
      target: OUTPUT_KEY,
      targetHandle: "in0",
      data: { target: OUTPUT_KEY, slot: 0 },
      selected: selected.has(id),
      className: "edge-output",
      ariaLabel: `${g.output} to the output`,
    });
  }
  return { nodes, edges };
}

/** Positions keyed the model's way from React Flow node ids. */
export function modelKeyOf(rfId: string): string {
  return rfId === OUTPUT_KEY ? OUTPUT_KEY : docIdOf(rfId);
}
