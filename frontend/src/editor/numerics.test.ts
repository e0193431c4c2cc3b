import { describe, expect, it } from "vitest";
import { formatNumber, groupChecks } from "./numerics";

describe("numerics formats", () => {
  it("writes every number with three significant digits, plain between 0.001 and 1000", () => {
    expect(formatNumber(0.1512397)).toBe("0.151");
    expect(formatNumber(-0.0010596)).toBe("-0.00106");
    expect(formatNumber(4.346657)).toBe("4.35");
    expect(formatNumber(191.6597)).toBe("192");
    expect(formatNumber(1)).toBe("1.00");
    expect(formatNumber(19246.35)).toBe("1.92e4");
    expect(formatNumber(999.7)).toBe("1.00e3");
    expect(formatNumber(-0.000316918)).toBe("-3.17e-4");
    expect(formatNumber(0)).toBe("0");
    expect(formatNumber(null)).toBe("—");
    expect(formatNumber(Number.NaN)).toBe("non-finite");
  });

  it("groups rows by scale, training first, and notices when both modes agree", () => {
    const row = (scale: number, mode: string, mean: number) => ({ scale, mode, finite: true, mean, std: 1, min: -1, max: 1, grad_finite: true, grad_norm: 3 });
    const groups = groupChecks([row(1000, "eval", 2), row(0.001, "eval", 0.5), row(1000, "train", 2), row(0.001, "train", 0.25)]);
    expect(groups.map((g) => g.scale)).toEqual([0.001, 1000]);
    expect(groups.map((g) => g.rows.map((r) => r.mode))).toEqual([["train", "eval"], ["train", "eval"]]);
    expect(groups.map((g) => g.sameInBothModes)).toEqual([false, true]);
  });
});
