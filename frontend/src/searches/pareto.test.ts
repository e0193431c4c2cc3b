import { describe, expect, it } from "vitest";
import { paretoFront, runningBest, type ScorePoint } from "./pareto";

function brute(points: ScorePoint[]): number[] {
  return points
    .filter((p) => !points.some((q) => q.x >= p.x && q.y >= p.y && (q.x > p.x || q.y > p.y)))
    .map((p) => p.id)
    .sort((a, b) => a - b);
}

describe("paretoFront", () => {
  it("matches brute force on random points", () => {
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let trial = 0; trial < 50; trial++) {
      const pts: ScorePoint[] = [];
      for (let i = 0; i < 40; i++) pts.push({ id: i, x: Math.round(rnd() * 10) / 10, y: Math.round(rnd() * 10) / 10 });
      const front = paretoFront(pts);
      expect(front.map((p) => p.id).sort((a, b) => a - b)).toEqual(brute(pts));
      for (let i = 1; i < front.length; i++) expect(front[i].x).toBeGreaterThanOrEqual(front[i - 1].x);
    }
  });
  it("handles empty input", () => {
    expect(paretoFront([])).toEqual([]);
  });
  it("runningBest keeps new records", () => {
    const pts = [0.1, 0.3, 0.2, 0.5, 0.5].map((y, i) => ({ id: i, x: i, y }));
    expect(runningBest(pts).map((p) => p.id)).toEqual([0, 1, 3]);
  });
});
