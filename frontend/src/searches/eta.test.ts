import { describe, expect, it } from "vitest";
import { etaSeconds, formatDuration, throughputPerMinute } from "./eta";

describe("throughput and ETA", () => {
  const now = 10 * 60_000;
  it("counts finishes in the sliding window", () => {
    const times = [now - 6 * 60_000, now - 4 * 60_000, now - 60_000, now - 1000, now];
    expect(throughputPerMinute(times, now, 5 * 60_000)).toBeCloseTo(4 / 5);
  });
  it("shortens the window for a young search", () => {
    const start = now - 60_000;
    expect(throughputPerMinute([now - 30_000, now - 10_000], now, 5 * 60_000, start)).toBeCloseTo(2);
  });
  it("says nothing for a search a few seconds old", () => {
    expect(throughputPerMinute([now], now, 5 * 60_000, now - 2000)).toBeNull();
  });
  it("divides the remaining budget by the rate", () => {
    expect(etaSeconds(10, 2)).toBe(300);
    expect(etaSeconds(0, null)).toBe(0);
    expect(etaSeconds(5, 0)).toBeNull();
    expect(etaSeconds(5, null)).toBeNull();
  });
  it("formats durations", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(42)).toBe("42s");
    expect(formatDuration(125)).toBe("2m 05s");
    expect(formatDuration(3 * 3600 + 7 * 60)).toBe("3h 07m");
  });
});
