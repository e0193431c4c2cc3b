/**
 * The numerics panel's formats and row order: every number with three
 * significant digits, in plain decimals between 0.001 and 1000 and as
 * `1.92e4` / `-3.17e-4` outside; rows grouped by input scale, training mode
 * before evaluation mode.
 */

export type ProbeMode = "train" | "eval";

export interface ProbeCheck {
  scale?: number;
  mode?: string;
  finite?: boolean;
  mean?: number | null;
  std?: number | null;
  min?: number | null;
  max?: number | null;
  grad_finite?: boolean;
  grad_norm?: number | null;
}

export function formatNumber(v: unknown): string {
  if (v === null || v === undefined) return "—";
  if (typeof v !== "number") return String(v);
  if (!Number.isFinite(v)) return "non-finite";
  if (v === 0) return "0";
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 999.5) return v.toPrecision(3);
  return v.toExponential(2).replace("e+", "e");
}

/** An input scale as the probe multiplies random input by it: 0.001, 1, 1000. */
export function formatScale(v: unknown): string {
  if (typeof v !== "number" || !Number.isFinite(v)) return String(v ?? "?");
  return String(v);
}

export const MODE_LABEL: Record<ProbeMode, string> = { train: "training mode", eval: "evaluation mode" };

export interface ScaleGroup {
  scale: number | undefined;
  rows: ProbeCheck[];
  /** The evaluation row shows the same numbers as the training row. */
  sameInBothModes: boolean;
}

const VALUE_KEYS = ["finite", "mean", "std", "min", "max", "grad_finite", "grad_norm"] as const;

/** Checks grouped by scale (ascending), each group's rows training first. */
export function groupChecks(checks: ProbeCheck[]): ScaleGroup[] {
  const byScale = new Map<number | undefined, ProbeCheck[]>();
  for (const c of checks) {
    const rows = byScale.get(c.scale) ?? [];
    rows.push(c);
    byScale.set(c.scale, rows);
  }
  const order = (m?: string) => (m === "train" ? 0 : m === "eval" ? 1 : 2);
  return [...byScale.entries()]
    .sort(([a], [b]) => (a ?? 0) - (b ?? 0))
    .map(([scale, rows]) => {
      const sorted = [...rows].sort((x, y) => order(x.mode) - order(y.mode));
      const train = sorted.find((r) => r.mode === "train");
      const evalRow = sorted.find((r) => r.mode === "eval");
      const sameInBothModes = Boolean(
        train && evalRow && VALUE_KEYS.every((k) => formatNumber(train[k]) === formatNumber(evalRow[k])),
      );
      return { scale, rows: sorted, sameInBothModes };
    });
}
