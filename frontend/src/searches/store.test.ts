import { describe, expect, it } from "vitest";
import {
  activeWorkers,
  applyEvents,
  emptyState,
  FEED_LIMIT,
  finishedCount,
  loadSnapshot,
  rejectionReasons,
} from "./store";
import type { CandidateStatus } from "../api/types";
import { cand, ev } from "./testData";

describe("applyEvents", () => {
  it("applies events in order and counts statuses", () => {
    const s = emptyState();
    const r = applyEvents(s, [
      ev(1, "search.status", { status: "running", stage: "evolution", reason: null }),
      ev(2, "candidate.created", { candidate: cand(10), tournament: null }),
      ev(3, "candidate.started", { candidate_id: 10, attempt: 1, worker: "w1" }),
    ]);
    expect(r).toBe(3);
    expect(s.lastSeq).toBe(3);
    expect(s.status).toBe("running");
    expect(s.candidates.get(10)?.status).toBe("running");
    expect(s.counts).toMatchObject({ queued: 0, running: 1 });
    expect(activeWorkers(s)).toBe(1);
    applyEvents(s, [
      ev(4, "candidate.finished", {
        candidate: cand(10, { status: "evaluated", scores: { a: 0.5 }, finished_at: "2026-01-01T00:01:00Z" }),
      }),
    ]);
    expect(s.counts).toMatchObject({ running: 0, evaluated: 1 });
    expect(finishedCount(s)).toBe(1);
    expect(activeWorkers(s)).toBe(0);
    expect(s.finishTimes.get(10)).toBe(Date.parse("2026-01-01T00:01:00Z"));
    // an unstable candidate spends no budget slot: it does not count toward throughput
    applyEvents(s, [
      ev(5, "candidate.finished", {
        candidate: cand(11, { status: "rejected", rejection_reason: "unstable", finished_at: "2026-01-01T00:01:30Z" }),
      }),
    ]);
    expect(finishedCount(s)).toBe(2);
    expect(s.finishTimes.has(11)).toBe(false);
  });

  it("bumps the version only on change", () => {
    const s = emptyState();
    applyEvents(s, [ev(1, "candidate.created", { candidate: cand(1), tournament: null })]);
    const v = s.version;
    expect(applyEvents(s, [])).toBe(0);
    expect(applyEvents(s, [ev(null, "candidate.progress", { candidate_id: 99 })])).toBe(0);
    expect(s.version).toBe(v + 1); // progress of an unknown candidate is kept, so that is a change
  });

  it("applies a batch in the order given: ordering is the stream's job", () => {
    const s = emptyState();
    applyEvents(s, [
      ev(1, "candidate.created", { candidate: cand(1), tournament: null }),
      ev(2, "candidate.started", { candidate_id: 1, attempt: 1, worker: "w" }),
    ]);
    expect(s.candidates.get(1)?.status).toBe("running");
    expect(s.lastSeq).toBe(2);
  });

  it("builds the tournament feed newest first and caps it", () => {
    const s = emptyState();
    const events = [];
    for (let i = 1; i <= FEED_LIMIT + 5; i++) {
      events.push(
        ev(i, "candidate.created", {
          candidate: cand(i, { mutation: "op", parent_id: i - 1 }),
          tournament: { contestants: [1, 2, 3], front: [2, 3], winner: 2 },
        }),
      );
    }
    applyEvents(s, events);
    expect(s.feed).toHaveLength(FEED_LIMIT);
    expect(s.feed[0]).toMatchObject({ childId: FEED_LIMIT + 5, winner: 2, front: [2, 3], mutation: "op" });
  });

  it("tracks population, requeue, loss and rerank", () => {
    const s = emptyState();
    applyEvents(s, [
      ev(1, "candidate.created", { candidate: cand(1), tournament: null }),
      ev(2, "candidate.started", { candidate_id: 1, attempt: 1, worker: "w" }),
      ev(3, "candidate.requeued", { candidate_id: 1, attempt: 2, reason: "stale" }),
      ev(4, "candidate.lost", { candidate_id: 1, reason: "attempts" }),
      ev(5, "population.changed", { added: 7, removed: [] }),
      ev(6, "population.changed", { added: 8, removed: [7] }),
      ev(7, "rerank.finished", { ranking: [{ candidate_id: 8, mean_score: 0.9, scores: {} }] }),
    ]);
    expect(s.candidates.get(1)).toMatchObject({ status: "lost", attempts: 2, rejection_reason: "attempts" });
    expect([...s.population]).toEqual([8]);
    expect(s.rerank?.[0].candidate_id).toBe(8);
  });

  it("applies progress events without touching seq, and not to finished candidates", () => {
    const s = emptyState();
    applyEvents(s, [ev(1, "candidate.created", { candidate: cand(1), tournament: null })]);
    applyEvents(s, [
      ev(null, "candidate.progress", { candidate_id: 1, arch: "a", stage: "train", step: 5, total: 10, loss: 1, accuracy: 0.2 }),
    ]);
    expect(s.lastSeq).toBe(1);
    expect(s.progress.get(1)).toMatchObject({ step: 5, total: 10 });
    applyEvents(s, [ev(2, "candidate.finished", { candidate: cand(1, { status: "rejected" }) })]);
    expect(s.progress.has(1)).toBe(false);
    applyEvents(s, [
      ev(null, "candidate.progress", { candidate_id: 1, arch: "a", stage: "train", step: 6, total: 10, loss: 1, accuracy: 0.2 }),
    ]);
    expect(s.progress.has(1)).toBe(false);
  });

  it("replays events after a snapshot that is newer than them and converges", () => {
    const s = emptyState();
    // Snapshot taken after seq 2 saw candidate 5 already finished.
    loadSnapshot(s, { status: "running", stage: "evolution", last_seq: 2 }, [
      cand(5, { status: "evaluated", scores: { a: 0.7 } }),
    ]);
    applyEvents(s, [
      ev(3, "candidate.created", { candidate: cand(5), tournament: null }),
      ev(4, "candidate.started", { candidate_id: 5, attempt: 1, worker: "w" }),
      ev(5, "candidate.finished", { candidate: cand(5, { status: "evaluated", scores: { a: 0.7 } }) }),
    ]);
    expect(s.lastSeq).toBe(5);
    expect(s.order).toEqual([5]);
    expect(s.candidates.get(5)?.status).toBe("evaluated");
    expect(s.counts).toMatchObject({ evaluated: 1, running: 0 });
  });

  it("takes the funnel from the snapshot, then from each search.funnel event in order", () => {
    const s = emptyState();
    loadSnapshot(s, { status: "running", stage: "evolution", last_seq: 1, funnel: { in_flight: 2, drawn: 5 } }, []);
    expect(s.funnel).toMatchObject({ drawn: 5, in_flight: 2, evaluated: 0 });
    const r = applyEvents(s, [
      ev(2, "search.funnel", { funnel: { drawn: 7, in_flight: 2 } }),
      ev(3, "search.funnel", { funnel: { drawn: 9, evaluated: 1, in_flight: 1 } }),
    ]);
    expect(r).toBe(2);
    expect(s.funnel).toMatchObject({ drawn: 9, evaluated: 1, in_flight: 1 });
    applyEvents(s, [ev(4, "search.status", { status: "running", stage: "evolution", reason: null })]);
    expect(s.funnel?.drawn).toBe(9);
  });

  it("keeps ids ascending when a candidate arrives late", () => {
    const s = emptyState();
    loadSnapshot(s, { status: "running", stage: "evolution", last_seq: 0 }, [cand(5), cand(2)]);
    applyEvents(s, [
      ev(1, "candidate.created", { candidate: cand(9), tournament: null }),
      ev(2, "candidate.created", { candidate: cand(3), tournament: null }),
    ]);
    expect(s.order).toEqual([2, 3, 5, 9]);
  });

  it("folds 10,000 candidates quickly", () => {
    const s = emptyState();
    const events = [];
    let seq = 0;
    for (let i = 1; i <= 10_000; i++) {
      events.push(ev(++seq, "candidate.created", { candidate: cand(i), tournament: { contestants: [1], front: [1], winner: 1 } }));
      events.push(ev(++seq, "candidate.finished", { candidate: cand(i, { status: "evaluated", scores: { a: i / 1e4 } }) }));
    }
    const t0 = performance.now();
    applyEvents(s, events);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(s.counts.evaluated).toBe(10_000);
  });
});

describe("rejectionReasons", () => {
  it("counts rejected candidates per reason, most frequent first", () => {
    const s = emptyState();
    const finished = (id: number, status: CandidateStatus, reason: string | null) =>
      ev(id, "candidate.finished", { candidate: cand(id, { status, rejection_reason: reason }) });
    applyEvents(s, [
      finished(1, "rejected", "unstable"),
      finished(2, "rejected", "numeric_nan"),
      finished(3, "rejected", "unstable"),
      finished(4, "evaluated", null),
      finished(5, "failed", "error"),
      finished(6, "rejected", "constant_output"),
    ]);
    expect(rejectionReasons(s)).toEqual([
      ["unstable", 2],
      ["constant_output", 1],
      ["numeric_nan", 1],
    ]);
    expect(rejectionReasons(emptyState())).toEqual([]);
  });
});
