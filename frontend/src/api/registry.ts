/**
 * Normalises the op registry served by `GET /api/ops` into one shape.
 *
 * The server sends the engine's `op_registry_json()` as-is; this accepts the
 * plausible spellings of it (a list or a name-keyed mapping of ops, `group` or
 * `category`, `doc` or `description`) so the palette does not break on a
 * cosmetic change. Arity is never guessed here: an op without one is dropped.
 */
import type { InputSpec, OpParamSpec, OpRegistry, OpSpec } from "./types";

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

export function normalizeCategory(raw: unknown, name: string): string {
  const s = String(raw ?? "").toLowerCase().replace(/[_\s]+/g, "-");
  if (/aggreg|reduc|statistic/.test(s)) return "aggregation";
  if (/elem|unary|binary|arith/.test(s)) return "element-wise";
  if (/input/.test(s)) return "input";
  if (s) return s;
  return /^(batch|instance|group|layer)_/.test(name) ? "aggregation" : "element-wise";
}

function normalizeParams(raw: unknown): Record<string, OpParamSpec> {
  const out: Record<string, OpParamSpec> = {};
  if (Array.isArray(raw)) {
    for (const p of raw) if (isObj(p) && typeof p.name === "string") out[p.name] = p as OpParamSpec;
  } else if (isObj(raw)) {
    for (const [k, v] of Object.entries(raw)) out[k] = isObj(v) ? (v as OpParamSpec) : { default: Number(v) };
  }
  return out;
}

function normalizeOp(name: string, raw: Obj, groupHint?: string): OpSpec | null {
  const arity = Number(raw.arity ?? (Array.isArray(raw.slots) ? raw.slots.length : NaN));
  if (!Number.isInteger(arity) || arity < 1) return null;
  const slotsRaw = raw.slots ?? raw.input_names ?? raw.inputs;
  const slots =
    Array.isArray(slotsRaw) && slotsRaw.length === arity && slotsRaw.every((s) => typeof s === "string")
      ? (slotsRaw as string[])
      : arity === 1
        ? ["a"]
        : ["a", "b", "c", "d"].slice(0, arity);
  return {
    name,
    arity,
    category: normalizeCategory(raw.category ?? raw.group ?? raw.kind ?? groupHint, name),
    description: String(raw.description ?? raw.doc ?? raw.value ?? raw.formula ?? ""),
    params: normalizeParams(raw.params),
    slots,
    batch: typeof raw.batch === "boolean" ? raw.batch : name.startsWith("batch_"),
  };
}

function collectOps(raw: unknown, groupHint?: string): OpSpec[] {
  const ops: OpSpec[] = [];
  if (Array.isArray(raw)) {
    for (const entry of raw) {
      if (!isObj(entry)) continue;
      const name = entry.name ?? entry.op ?? entry.id;
      if (typeof name === "string") {
        const op = normalizeOp(name, entry, groupHint);
        if (op) ops.push(op);
      } else if (Array.isArray(entry.ops)) {
        ops.push(...collectOps(entry.ops, String(entry.group ?? entry.category ?? entry.title ?? "")));
      }
    }
  } else if (isObj(raw)) {
    for (const [name, entry] of Object.entries(raw)) {
      if (isObj(entry)) {
        const op = normalizeOp(String(entry.name ?? name), entry, groupHint);
        if (op) ops.push(op);
        else if (Array.isArray(entry.ops) || isObj(entry.ops)) ops.push(...collectOps(entry.ops, name));
      } else if (Array.isArray(entry)) {
        ops.push(...collectOps(entry, name));
      }
    }
  }
  return ops;
}

function collectInputs(raw: unknown): InputSpec[] {
  if (Array.isArray(raw))
    return raw.flatMap((e) =>
      typeof e === "string"
        ? [{ name: e, description: "" }]
        : isObj(e) && typeof e.name === "string"
          ? [{ name: e.name, description: String(e.description ?? e.doc ?? e.value ?? "") }]
          : [],
    );
  if (isObj(raw))
    return Object.entries(raw).map(([name, e]) => ({
      name,
      description: isObj(e) ? String(e.description ?? e.doc ?? e.value ?? "") : String(e ?? ""),
    }));
  return [];
}

export function normalizeOpRegistry(raw: unknown): OpRegistry {
  if (isObj(raw) && ("ops" in raw || "inputs" in raw || "groups" in raw)) {
    const ops = collectOps(raw.ops ?? raw.groups);
    return { ops, inputs: collectInputs(raw.inputs) };
  }
  return { ops: collectOps(raw), inputs: [] };
}
