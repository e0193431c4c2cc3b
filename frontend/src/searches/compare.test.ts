import { describe, expect, it } from "vitest";
import { compareCurveSeries, compareUrl, COMPARE_COLORS, parseCompareIds, scoreRows } from "./compare";

describe("comparing candidates", () => {
  it("reads the ids to compare, dropping junk and repeats, at most 8", () => {
    expect(parseCompareIds("3, 1,x,3,-2,0,7")).toEqual([3, 1, 7]);
    expect(parseCompareIds("1,2,3,4,5,6,7,8,9,10")).toHaveLength(8);
    expect(parseCompareIds(null)).toEqual([]);
    expect(compareUrl(5, [3, 1])).toBe("/searches/5/compare/?ids=3,1");
  });

  it("lines the scores up per architecture and marks the best of each row", () => {
    const rows = scoreRows([
      { scores: { resnet: 0.5, mobilenet: 0.7 }, mean_score: 0.6 },
      { scores: { resnet: 0.6 }, mean_score: null },
      { scores: { resnet: 0.4, mobilenet: 0.7 }, mean_score: 0.55 },
    ]);
    expect(rows.map((r) => r.label)).toEqual(["resnet", "mobilenet", "mean"]);
    expect(rows[0]).toEqual({ label: "resnet", values: [0.5, 0.6, 0.4], best: 1 });
    expect(rows[1].values).toEqual([0.7, null, 0.7]);
    expect(rows[1].best).toBeNull(); // a tie is no winner
    expect(rows[2].best).toBe(0);
  });

  it("overlays every accuracy curve: a colour per candidate, a dash per architecture", () => {
    const series = compareCurveSeries([
      {
        id: 4,
        curves: {
          a: [
            { step: 0, loss: 2, accuracy: 0.1 },
            { step: 10, loss: 1, accuracy: null },
            { step: 20, loss: 1, accuracy: 0.5 },
          ],
          b: [{ step: 0, loss: 2, accuracy: 0.2 }],
        },
      },
      { id: 9, curves: { b: [{ step: 5, loss: 1, accuracy: 0.3 }] } },
      { id: 11 },
    ]);
    expect(series.map((s) => [s.name, s.color, s.dash])).toEqual([
      ["#4 a", COMPARE_COLORS[0], "solid"],
      ["#4 b", COMPARE_COLORS[0], "dashed"],
      ["#9 b", COMPARE_COLORS[1], "dashed"],
    ]);
    expect(series[0].data).toEqual([
      [0, 0.1],
      [20, 0.5],
    ]);
  });
});
