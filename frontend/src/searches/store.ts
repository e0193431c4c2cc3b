/**
 * Folds the search event stream (docs/INTERFACES.md section 5) into the state
 * the monitor draws: candidates by id, counts, population, tournament feed,
 * per-candidate progress. Events are applied as they come: ordering them
 * (gap-free, each once, in seq order) is the stream's job (./stream.ts).
 *
 * The state is mutated in place and `version` is bumped on every change: with
 * 10,000 candidates copying maps per event would dominate, and the React side
 * only re-renders when a coalesced batch bumps the version.
 */

import type { CandidateSummary, LabEvent, SearchDetail } from "../api/types";
import { FINISHED_STATUSES } from "./eta";
import { orderFunnel, type Funnel } from "./funnel";

export interface TournamentEntry {
  seq: number;
  childId: number;
  mutation: string;
  parentId: number | null;
  contestants: number[];
  front: number[];
  winner: number | null;
  at: string | null;
}

export interface ProgressInfo {
  arch: string;
  stage: string;
  step: number;
  total: number;
  loss: number | null;
  accuracy: number | null;
}

export interface RerankRow {
  candidate_id: number;
  mean_score: number;
  scores: unknown;
}

export interface SearchState {
  version: number;
  lastSeq: number;
  status: string | null;
  stage: string | null;
  reason: string | null;
  candidates: Map<number, CandidateSummary>;
  /** Candidate ids, ascending (that is, in creation order). */
  order: number[];
  counts: Record<string, number>;
  population: Set<number>;
  feed: TournamentEntry[];
  progress: Map<number, ProgressInfo>;
  /** Server finish times (ms) of finished candidates that spent a budget slot (not the
   * unstable ones), for throughput in budget slots per minute. */
  finishTimes: Map<number, number>;
  rerank: RerankRow[] | null;
  /** The engine's funnel, from the detail and then each `search.funnel` event. */
  funnel: Funnel | null;
}

export const FEED_LIMIT = 50;

export function emptyState(): SearchState {
  return {
    version: 0,
    lastSeq: 0,
    status: null,
    stage: null,
    reason: null,
    candidates: new Map(),
    order: [],
    counts: {},
    population: new Set(),
    feed: [],
    progress: new Map(),
    finishTimes: new Map(),
    rerank: null,
    funnel: null,
  };
}

function parseTime(s: string | null | undefined): number | null {
  if (!s) return null;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : null;
}

/** Keep `order` ascending by id (ids grow with creation; late arrivals are rare). */
function insertSorted(order: number[], id: number): void {
  if (order.length === 0 || order[order.length - 1] < id) {
    order.push(id);
    return;
  }
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order[mid] < id) lo = mid + 1;
    else hi = mid;
  }
  order.splice(lo, 0, id);
}

function setCandidate(state: SearchState, next: CandidateSummary): void {
  const prev = state.candidates.get(next.id);
  if (prev) {
    state.counts[prev.status] = (state.counts[prev.status] ?? 1) - 1;
  } else {
    insertSorted(state.order, next.id);
  }
  state.candidates.set(next.id, next);
  state.counts[next.status] = (state.counts[next.status] ?? 0) + 1;
  if (FINISHED_STATUSES.has(next.status)) {
    state.progress.delete(next.id);
    const t = parseTime(next.finished_at);
    if (t !== null && next.rejection_reason !== "unstable") state.finishTimes.set(next.id, t);
    else state.finishTimes.delete(next.id);
  } else {
    state.finishTimes.delete(next.id);
  }
}

function patchCandidate(
  state: SearchState,
  id: number,
  patch: Partial<CandidateSummary>,
): void {
  const prev = state.candidates.get(id);
  if (!prev) return; // unknown id: the snapshot or a later event will bring it
  setCandidate(state, { ...prev, ...patch });
}

/** Seed the state from the detail and a candidate snapshot (before any event). */
export function loadSnapshot(
  state: SearchState,
  detail: Pick<SearchDetail, "status" | "stage" | "last_seq" | "reason" | "funnel">,
  candidates: readonly CandidateSummary[],
): void {
  state.status = detail.status;
  state.stage = detail.stage;
  state.reason = detail.reason ?? null;
  state.funnel = orderFunnel(detail.funnel) ?? state.funnel;
  state.lastSeq = Math.max(state.lastSeq, detail.last_seq);
  const sorted = [...candidates].sort((a, b) => a.id - b.id);
  for (const c of sorted) setCandidate(state, c);
  state.version++;
}

/** Apply one in-order event. */
function applyOne(state: SearchState, ev: LabEvent): void {
  const p = ev.payload ?? {};
  switch (ev.type) {
    case "search.status":
      state.status = (p.status as string) ?? state.status;
      state.stage = (p.stage as string) ?? state.stage;
      state.reason = (p.reason as string | null) ?? null;
      break;
    case "candidate.created": {
      const c = p.candidate as CandidateSummary | undefined;
      if (!c) break;
      // Created is the first event of a candidate; a snapshot taken later may
      // already hold a newer version, which later events in this replay
      // reproduce anyway, so we do not overwrite it with the older one.
      if (!state.candidates.has(c.id)) setCandidate(state, c);
      const t = p.tournament as { contestants?: number[]; front?: number[]; winner?: number } | null;
      if (t) {
        state.feed.unshift({
          seq: ev.seq as number,
          childId: c.id,
          mutation: c.mutation,
          parentId: c.parent_id,
          contestants: t.contestants ?? [],
          front: t.front ?? [],
          winner: t.winner ?? null,
          at: ev.created_at ?? c.created_at ?? null,
        });
        if (state.feed.length > FEED_LIMIT) state.feed.length = FEED_LIMIT;
      }
      break;
    }
    case "candidate.started":
      patchCandidate(state, p.candidate_id as number, {
        status: "running",
        attempts: (p.attempt as number) ?? undefined,
        worker: (p.worker as string) ?? null,
        started_at: ev.created_at ?? null,
      });
      break;
    case "candidate.finished": {
      const c = p.candidate as CandidateSummary | undefined;
      if (c) setCandidate(state, c);
      break;
    }
    case "candidate.requeued":
      patchCandidate(state, p.candidate_id as number, {
        status: "queued",
        attempts: (p.attempt as number) ?? undefined,
        worker: null,
      });
      state.progress.delete(p.candidate_id as number);
      break;
    case "candidate.lost":
      patchCandidate(state, p.candidate_id as number, {
        status: "lost",
        rejection_reason: (p.reason as string) ?? null,
        finished_at: ev.created_at ?? null,
      });
      break;
    case "population.changed": {
      const added = p.added as number | null;
      if (added !== null && added !== undefined) state.population.add(added);
      for (const r of (p.removed as number[]) ?? []) state.population.delete(r);
      break;
    }
    case "search.funnel":
      state.funnel = orderFunnel(p.funnel as Record<string, unknown> | undefined) ?? state.funnel;
      break;
    case "rerank.finished":
      state.rerank = (p.ranking as RerankRow[]) ?? [];
      break;
    default:
      break; // unknown types are ignored so the server may add new ones
  }
}

/**
 * Apply a batch of events in the order given and return how many stored ones
 * it had: the stream (./stream.ts) hands them over gap-free, each once, in seq
 * order. Progress events (seq null) update progress only.
 */
export function applyEvents(state: SearchState, events: readonly LabEvent[]): number {
  let applied = 0;
  let touched = false;
  for (const ev of events) {
    if (ev.seq === null || ev.seq === undefined) {
      if (ev.type === "candidate.progress") {
        const p = ev.payload as unknown as ProgressInfo & { candidate_id: number };
        const c = state.candidates.get(p.candidate_id);
        if (!c || !FINISHED_STATUSES.has(c.status)) {
          state.progress.set(p.candidate_id, {
            arch: p.arch,
            stage: p.stage,
            step: p.step,
            total: p.total,
            loss: p.loss ?? null,
            accuracy: p.accuracy ?? null,
          });
          touched = true;
        }
      }
      continue;
    }
    applyOne(state, ev);
    state.lastSeq = ev.seq;
    applied++;
  }
  if (applied > 0 || touched) state.version++;
  return applied;
}

/** Candidates whose evaluation has finished, for throughput. */
export function finishedCount(state: SearchState): number {
  let n = 0;
  for (const s of FINISHED_STATUSES) n += state.counts[s] ?? 0;
  return n;
}

/** Rejected candidates per rejection reason, most frequent first (ties by name). */
export function rejectionReasons(state: SearchState): [string, number][] {
  const counts = new Map<string, number>();
  for (const c of state.candidates.values()) {
    if (c.status !== "rejected") continue;
    const reason = c.rejection_reason ?? "unknown";
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Distinct workers of running candidates. */
export function activeWorkers(state: SearchState): number {
  const workers = new Set<string>();
  for (const c of state.candidates.values()) {
    if (c.status === "running" && c.worker) workers.add(c.worker);
  }
  return workers.size;
}

/** The evaluated candidate with the highest mean score (ties: the older one). */
export function bestCandidate(state: SearchState): number | null {
  let best: number | null = null;
  let bestScore = -Infinity;
  for (const id of state.order) {
    const c = state.candidates.get(id);
    if (c && c.status === "evaluated" && typeof c.mean_score === "number" && c.mean_score > bestScore) {
      best = id;
      bestScore = c.mean_score;
    }
  }
  return best;
}
