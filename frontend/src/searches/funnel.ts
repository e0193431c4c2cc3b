/**
 * The search's funnel (INTERFACES section 4, SearchDetail.funnel): where its
 * layers went, from drawn to evaluated. The server's JSON may come with its
 * keys in any order (PostgreSQL's jsonb), so order is ours: FUNNEL_KEYS.
 */

export const FUNNEL_KEYS = [
  "drawn",
  "refused_static",
  "refused_probe",
  "unstable",
  "low_quality",
  "rejected_other",
  "failed",
  "evaluated",
  "in_flight",
] as const;

export type FunnelKey = (typeof FUNNEL_KEYS)[number];
export type Funnel = Record<FunnelKey, number>;

/** The funnel with every key, in FUNNEL_KEYS order (missing or bad counts are 0); null when none. */
export function orderFunnel(raw: Record<string, unknown> | null | undefined): Funnel | null {
  if (!raw || typeof raw !== "object") return null;
  const out = {} as Funnel;
  for (const k of FUNNEL_KEYS) {
    const v = raw[k];
    out[k] = typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0;
  }
  return out;
}

export interface FunnelLoss {
  key: FunnelKey;
  label: string;
  count: number;
}

export interface FunnelStage {
  key: string;
  label: string;
  /** Layers that reached this stage. */
  count: number;
  /** What left (or is still on its way) between the previous stage and this one. */
  losses: FunnelLoss[];
  /** True for the stage from which candidates spend the budget. */
  budget?: boolean;
}

const LOSS_LABEL: Record<FunnelKey, string> = {
  drawn: "drawn",
  refused_static: "refused by the static checks",
  refused_probe: "refused by the numeric probe",
  unstable: "unstable",
  low_quality: "below the quality gate",
  rejected_other: "diverged or rejected otherwise",
  failed: "failed",
  evaluated: "evaluated",
  in_flight: "in training",
};

function losses(f: Funnel, keys: FunnelKey[], ended: boolean): FunnelLoss[] {
  return keys
    .filter((k) => f[k] > 0)
    .map((k) => ({ key: k, label: k === "in_flight" && ended ? "cancelled when the search ended" : LOSS_LABEL[k], count: f[k] }));
}

/**
 * The funnel as narrowing stages: drawn → passed the static checks → passed
 * the probe (sent to the stability test) → stable: reached training (what the
 * budget counts) → evaluated (passed the quality gate). Free refusals and
 * unstable layers cost no budget; candidates still in flight leave between
 * "sent" and "reached training", and failed, diverged or below-the-gate ones
 * between "reached training" and "evaluated". Once the search has ended
 * (`ended`), what the engine still counts in flight was cancelled by the
 * stop, never told back.
 */
export function funnelStages(f: Funnel, ended = false): FunnelStage[] {
  const passedStatic = Math.max(0, f.drawn - f.refused_static);
  const sent = Math.max(0, passedStatic - f.refused_probe);
  const trained = f.evaluated + f.low_quality + f.rejected_other + f.failed;
  return [
    { key: "drawn", label: "Drawn", count: f.drawn, losses: [] },
    { key: "static", label: "Passed the static checks", count: passedStatic, losses: losses(f, ["refused_static"], ended) },
    { key: "sent", label: "Sent to the stability test", count: sent, losses: losses(f, ["refused_probe"], ended) },
    {
      key: "trained",
      label: "Reached training",
      count: trained,
      losses: losses(f, ["in_flight", "unstable"], ended),
      budget: true,
    },
    {
      key: "evaluated",
      label: "Evaluated",
      count: f.evaluated,
      losses: losses(f, ["low_quality", "rejected_other", "failed"], ended),
    },
  ];
}

/**
 * Budget slots spent by `finished` candidates of which `unstable` failed the
 * stability test: those give their slot back, at most `allowance` per slot of
 * `budget` (the server's `unstable_allowance`; search_engine.evolution).
 */
export function budgetSpent(finished: number, unstable: number, budget: number, allowance: number): number {
  return Math.max(0, finished - Math.min(unstable, allowance * budget));
}

/** A bar's width in percent of the widest: square-root scaled so 3 of 2,000 still shows. */
export function barPercent(count: number, max: number): number {
  if (max <= 0 || count <= 0) return 0;
  return Math.max(1.5, Math.min(100, (Math.sqrt(count) / Math.sqrt(max)) * 100));
}
