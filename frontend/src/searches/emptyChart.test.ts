import { describe, expect, it } from "vitest";
import { emptyChartMessage } from "./emptyChart";
import { orderFunnel } from "./funnel";

const base = { status: "running", counts: {}, reasons: [] as [string, number][], funnel: null };

describe("what the chart says while it is empty", () => {
  it("says nothing when there is a point to draw", () => {
    expect(emptyChartMessage(1, base)).toBeNull();
  });

  it("waits for the first result, saying how many train", () => {
    expect(emptyChartMessage(0, { ...base, counts: { running: 2, queued: 1 } })).toBe(
      "Waiting for the first result: 2 candidates in training, 1 queued.",
    );
    expect(emptyChartMessage(0, { ...base, counts: { running: 1 } })).toBe(
      "Waiting for the first result: 1 candidate in training.",
    );
  });

  it("counts the free refusals while waiting", () => {
    const funnel = orderFunnel({ drawn: 30, refused_static: 20, refused_probe: 8, in_flight: 2 });
    expect(emptyChartMessage(0, { ...base, counts: { running: 2 }, funnel })).toBe(
      "Waiting for the first result: 2 candidates in training. The free checks refused 28 layers so far, at no cost to the budget.",
    );
  });

  it("says when everything finished so far was rejected, and why, pointing at the funnel", () => {
    expect(
      emptyChartMessage(0, {
        ...base,
        counts: { rejected: 3, running: 1 },
        reasons: [
          ["unstable", 2],
          ["low_quality", 1],
        ],
      }),
    ).toBe("All 3 finished candidates were rejected so far (unstable 2, low_quality 1): see the funnel. 1 candidate in training.");
  });

  it("tells failures apart from rejections", () => {
    expect(emptyChartMessage(0, { ...base, counts: { rejected: 1, failed: 1 }, reasons: [["unstable", 1]] })).toBe(
      "No finished candidate passed so far: 1 rejected (unstable 1), 1 failed: see the funnel.",
    );
  });

  it("says a paused or ended search's state", () => {
    expect(emptyChartMessage(0, { ...base, status: "paused", counts: { queued: 2 } })).toBe(
      "Paused. Waiting for the first result: 0 candidates in training, 2 queued.",
    );
    expect(
      emptyChartMessage(0, { ...base, status: "finished", counts: { rejected: 2 }, reasons: [["low_quality", 2]] }),
    ).toBe("The search ended with no evaluated candidate: 2 finished candidates, 2 rejected (low_quality 2). See the funnel for where the layers went.");
    expect(emptyChartMessage(0, { ...base, status: "stopped", counts: { cancelled: 2 } })).toBe(
      "The search ended before any candidate finished training; nothing to plot.",
    );
  });

  it("waits for a first proposal when nothing is queued", () => {
    expect(emptyChartMessage(0, { ...base, status: "queued" })).toBe("Waiting for the first candidate to be proposed.");
  });
});
