/**
 * Builders for candidate summaries and events used by the unit tests.
 */
import type { CandidateSummary, LabEvent } from "../api/types";

export function cand(id: number, patch: Partial<CandidateSummary> = {}): CandidateSummary {
  return {
    id,
    search_id: 1,
    canonical_hash: `h${id}`,
    status: "queued",
    rejection_reason: null,
    scores: {},
    mean_score: null,
    mode: "S",
    formula: `f${id}`,
    parent_id: null,
    mutation: "random",
    attempts: 0,
    worker: null,
    created_at: "2026-01-01T00:00:00Z",
    started_at: null,
    finished_at: null,
    ...patch,
  };
}

export function ev(seq: number | null, type: string, payload: Record<string, unknown>): LabEvent {
  return { seq, type, payload, created_at: "2026-01-01T00:00:01Z" };
}
