/**
 * Comparing candidates side by side: which ids the page was asked for, the
 * scores as one table (best per row marked), and every training curve on one
 * chart (a colour per candidate, a line style per architecture).
 */

import type { CandidateSummary, CurvePoint } from "../api/types";

export const MAX_COMPARED = 8;

/** Candidate ids from `?ids=3,1,7`: whole positive numbers, first occurrence kept, at most MAX_COMPARED. */
export function parseCompareIds(text: string | null | undefined): number[] {
  const out: number[] = [];
  for (const part of (text ?? "").split(",")) {
    const t = part.trim();
    if (!/^\d{1,18}$/.test(t)) continue;
    const id = Number(t);
    if (id > 0 && !out.includes(id)) out.push(id);
    if (out.length === MAX_COMPARED) break;
  }
  return out;
}

export function compareUrl(searchId: number, ids: readonly number[]): string {
  return `/searches/${searchId}/compare/?ids=${ids.slice(0, MAX_COMPARED).join(",")}`;
}

export interface ScoreRow {
  label: string;
  values: (number | null)[];
  /** Index of the best value in the row (null when none or a tie for all). */
  best: number | null;
}

/** One row per architecture (union, in first-seen order) and the mean; a column per candidate. */
export function scoreRows(cands: readonly Pick<CandidateSummary, "scores" | "mean_score">[]): ScoreRow[] {
  const archs: string[] = [];
  for (const c of cands) for (const a of Object.keys(c.scores ?? {})) if (!archs.includes(a)) archs.push(a);
  const row = (label: string, values: (number | null)[]): ScoreRow => {
    let best: number | null = null;
    values.forEach((v, i) => {
      if (v !== null && (best === null || v > (values[best] as number))) best = i;
    });
    const numbers = values.filter((v): v is number => v !== null);
    if (numbers.length > 1 && numbers.every((v) => v === numbers[0])) best = null;
    return { label, values, best };
  };
  const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
  return [
    ...archs.map((a) => row(a, cands.map((c) => num(c.scores?.[a])))),
    row("mean", cands.map((c) => num(c.mean_score))),
  ];
}

export const COMPARE_COLORS = ["#2f5fb3", "#d9480f", "#12b76a", "#7a5af8", "#b54708", "#0e9384", "#c11574", "#475467"];
const DASHES = ["solid", "dashed", "dotted"] as const;

export interface CurveSeries {
  name: string;
  candidateId: number;
  arch: string;
  color: string;
  dash: (typeof DASHES)[number];
  data: [number, number][];
}

/** Accuracy curves of every candidate and architecture, for one overlaid chart. */
export function compareCurveSeries(
  cands: readonly { id: number; curves?: Record<string, CurvePoint[]> }[],
): CurveSeries[] {
  const archs: string[] = [];
  for (const c of cands) for (const a of Object.keys(c.curves ?? {})) if (!archs.includes(a)) archs.push(a);
  const out: CurveSeries[] = [];
  cands.forEach((c, i) => {
    for (const arch of archs) {
      const points = c.curves?.[arch];
      if (!points?.length) continue;
      out.push({
        name: `#${c.id} ${arch}`,
        candidateId: c.id,
        arch,
        color: COMPARE_COLORS[i % COMPARE_COLORS.length],
        dash: DASHES[archs.indexOf(arch) % DASHES.length],
        data: points.filter((p) => typeof p.accuracy === "number").map((p) => [p.step, p.accuracy as number]),
      });
    }
  });
  return out;
}
