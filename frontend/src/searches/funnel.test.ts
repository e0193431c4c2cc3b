import { describe, expect, it } from "vitest";
import { barPercent, budgetSpent, FUNNEL_KEYS, funnelStages, orderFunnel } from "./funnel";

const RAW = {
  // as PostgreSQL's jsonb hands them back: not in engine order
  evaluated: 3,
  in_flight: 2,
  drawn: 40,
  failed: 1,
  low_quality: 4,
  refused_probe: 12,
  refused_static: 10,
  rejected_other: 0,
  unstable: 8,
};

describe("the funnel", () => {
  it("puts the keys in engine order, whatever order they came in", () => {
    const f = orderFunnel(RAW)!;
    expect(Object.keys(f)).toEqual([...FUNNEL_KEYS]);
    expect(f.drawn).toBe(40);
  });

  it("fills missing or bad counts with 0 and has no funnel for none", () => {
    const f = orderFunnel({ drawn: 5, evaluated: "many", failed: -2 })!;
    expect(f).toMatchObject({ drawn: 5, evaluated: 0, failed: 0, in_flight: 0 });
    expect(orderFunnel(null)).toBeNull();
    expect(orderFunnel(undefined)).toBeNull();
  });

  it("narrows from drawn to evaluated, each loss where it happened", () => {
    const stages = funnelStages(orderFunnel(RAW)!);
    expect(stages.map((s) => [s.label, s.count])).toEqual([
      ["Drawn", 40],
      ["Passed the static checks", 30],
      ["Sent to the stability test", 18],
      ["Reached training", 8],
      ["Evaluated", 3],
    ]);
    expect(stages[1].losses).toEqual([{ key: "refused_static", label: "refused by the static checks", count: 10 }]);
    // the budget counts the candidates that reached training, not the unstable ones
    expect(stages.filter((s) => s.budget).map((s) => s.key)).toEqual(["trained"]);
    expect(stages[3].losses.map((l) => [l.key, l.count])).toEqual([
      ["in_flight", 2],
      ["unstable", 8],
    ]);
    // below the gate, failed (rejected_other is 0: not listed)
    expect(stages[4].losses.map((l) => l.label)).toEqual(["below the quality gate", "failed"]);
    // every layer is accounted for: what is sent either is in a later stage or left on the way
    for (const i of [3, 4]) {
      const left = stages[i].losses.reduce((n, l) => n + l.count, 0);
      expect(stages[i].count + left).toBe(stages[i - 1].count);
    }
  });

  it("gives the unstable candidates' slots back, up to the allowance", () => {
    expect(budgetSpent(10, 3, 20, 4)).toBe(7);
    expect(budgetSpent(100, 90, 5, 4)).toBe(80); // at most 4 x 5 given back
    expect(budgetSpent(0, 0, 5, 4)).toBe(0);
  });

  it("calls what a stopped search left in flight cancelled, not in training", () => {
    const f = orderFunnel({ drawn: 3, in_flight: 2, evaluated: 1 })!;
    expect(funnelStages(f)[3].losses[0].label).toBe("in training");
    expect(funnelStages(f, true)[3].losses[0].label).toBe("cancelled when the search ended");
  });

  it("scales bars by the square root, never to nothing", () => {
    expect(barPercent(100, 100)).toBe(100);
    expect(barPercent(25, 100)).toBe(50);
    expect(barPercent(1, 10_000)).toBe(1.5);
    expect(barPercent(0, 100)).toBe(0);
    expect(barPercent(3, 0)).toBe(0);
  });
});
