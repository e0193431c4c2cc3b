/**
 * The op table of GRAPH_FORMAT.md, built in so the validation mirror and the
 * unit tests work before (or without) `GET /api/ops`. The server's registry,
 * once loaded, replaces it via `mergeRegistry` (descriptions, params, any new
 * op); the server stays the judge of validity.
 */
import type { OpRegistry, OpSpec } from "../api/types";

export const FORMAT = "layer-graph/1";
export const INPUTS = ["x", "zero", "v0", "v1"] as const;
export const MAX_NODES = 256;
export const MAX_NAME_LENGTH = 100;
export const ID_RE = /^[A-Za-z0-9_-]{1,32}$/;
export const EPS_DEFAULT = 1e-5;
export const MOMENTUM_DEFAULT = 0.1;

export const INPUT_DESCRIPTIONS: Record<string, string> = {
  x: "the layer input (the output of the preceding convolution), (B, C, H, W)",
  zero: "the constant 0",
  v0: "trainable per-channel vector, initialised to 0",
  v1: "trainable per-channel vector, initialised to 1",
};

const GROUPS = { type: "int", min: 1, max: 1024, default: 32, description: "number of channel groups" };

function ew(name: string, arity: number, description: string): OpSpec {
  return { name, arity, category: "element-wise", description, params: {}, slots: arity === 1 ? ["a"] : ["a", "b"] };
}

const AXES: Record<string, string> = {
  batch: "over batch, height and width (per channel, like BatchNorm)",
  instance: "over height and width (per sample and channel, like InstanceNorm)",
  group: "over height, width and the channels of a group (like GroupNorm)",
  layer: "over channels, height and width (per sample, like LayerNorm)",
};
const STATS: Record<string, string> = {
  mean: "mean of a",
  sqmean: "mean of a squared, plus eps",
  var: "biased variance of a, plus eps",
};

export const BUILTIN_OPS: OpSpec[] = [
  ew("add", 2, "a + b"),
  ew("mul", 2, "a * b"),
  ew("div", 2, "a / b (IEEE: may give inf or nan)"),
  ew("max", 2, "elementwise maximum; a nan in either input gives nan"),
  ew("neg", 1, "-a"),
  ew("sigmoid", 1, "1 / (1 + exp(-a))"),
  ew("tanh", 1, "tanh(a)"),
  ew("exp", 1, "exp(a)"),
  ew("log", 1, "sign(a) * ln(abs(a))"),
  ew("abs", 1, "abs(a)"),
  ew("square", 1, "a * a"),
  ew("sqrt", 1, "sign(a) * sqrt(abs(a))"),
  ...Object.keys(AXES).flatMap((axes) =>
    Object.keys(STATS).map(
      (stat): OpSpec => ({
        name: `${axes}_${stat}`,
        arity: 1,
        category: "aggregation",
        description: `${STATS[stat]} ${AXES[axes]}`,
        params: axes === "group" ? { groups: GROUPS } : {},
        slots: ["a"],
        batch: axes === "batch",
      }),
    ),
  ),
];

export type OpTable = Record<string, OpSpec>;

export function tableOf(ops: OpSpec[]): OpTable {
  return Object.fromEntries(ops.map((op) => [op.name, op]));
}

export const BUILTIN_TABLE: OpTable = tableOf(BUILTIN_OPS);

/** The server's registry wins; built-in entries fill what it leaves out. */
export function mergeRegistry(registry: OpRegistry | null): OpTable {
  if (!registry || registry.ops.length === 0) return BUILTIN_TABLE;
  return tableOf(
    registry.ops.map((op) => ({
      ...op,
      slots: op.slots.length === op.arity ? op.slots : (BUILTIN_TABLE[op.name]?.slots ?? op.slots),
      batch: op.batch ?? op.name.startsWith("batch_"),
    })),
  );
}

export function isBatchOp(table: OpTable, op: string): boolean {
  const spec = table[op];
  return spec ? Boolean(spec.batch) : op.startsWith("batch_");
}

/** Palette groups in display order. */
export const CATEGORY_ORDER = ["input", "element-wise", "aggregation"];
export const CATEGORY_LABEL: Record<string, string> = {
  input: "Inputs",
  "element-wise": "Element-wise",
  aggregation: "Aggregations",
};
