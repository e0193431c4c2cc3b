import { describe, expect, it } from "vitest";
import { estimateText, type SearchEstimate } from "./estimate";

const base: SearchEstimate = {
  capacity: { slots: 2, workers: [{ name: "eval-1@h", slots: 2 }] },
  parallel: 2,
  at_once: 2,
  budget: 12,
  cost: { seconds: 40, evaluated_seconds: 55, kind: "exact", candidates: 24, steps_from: null },
  evolution_seconds: 240,
  rerank_seconds: null,
  total_seconds: 240,
};

describe("the launch form's runtime box", () => {
  it("says what trains at once and how long, from measured costs", () => {
    const t = estimateText(base);
    expect(t.concurrency).toBe("2 candidates will train at once (this lab has 2 evaluation slots).");
    expect(t.short).toBe(false);
    expect(t.time).toBe(
      "About 4m 00s for 12 candidates: 40s per candidate, measured with these settings over 24 candidates on this lab's workers, 2 at a time.",
    );
  });
  it("says plainly when the lab runs fewer than the search keeps in flight", () => {
    const t = estimateText({ ...base, capacity: { slots: 1, workers: [] }, at_once: 1 });
    expect(t.short).toBe(true);
    expect(t.concurrency).toMatch(/only 1 of the 2 this search keeps in flight will train at once/);
  });
  it("makes up no number without a measurement, and says why", () => {
    const none = { ...base, cost: { ...base.cost, seconds: null, kind: "none" as const, candidates: 0 }, total_seconds: null };
    expect(estimateText(none).time).toMatch(/No candidate has run with these settings on this lab yet/);
    const noWorker = { ...none, capacity: { slots: 0, workers: [] }, at_once: 0 };
    expect(estimateText(noWorker).concurrency).toMatch(/No evaluation worker is online/);
  });
  it("labels a cost scaled from another number of steps", () => {
    const t = estimateText({ ...base, cost: { ...base.cost, kind: "scaled", steps_from: 100 } }, 150);
    expect(t.time).toMatch(/measured at 100 steps and scaled to 150 steps/);
  });
});
