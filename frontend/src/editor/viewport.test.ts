import { describe, expect, it } from "vitest";
import { overlaps, panClearOf, READABLE_ZOOM, readableViewport } from "./viewport";

describe("opening view", () => {
  const view = { width: 870, height: 760 };

  it("keeps a wide graph at a readable zoom, starting from its left edge", () => {
    // EvoNorm-B0 laid out in six columns: about 1450 × 330 flow pixels.
    const v = readableViewport({ x: 0, y: 0, width: 1450, height: 330 }, view);
    expect(v.zoom).toBe(READABLE_ZOOM);
    expect(12 * v.zoom).toBeGreaterThanOrEqual(11); // 12 px node text
    expect(v.x).toBe(24); // the inputs at the left edge, the rest one pan away
    expect(v.y).toBeCloseTo((760 - 330 * READABLE_ZOOM) / 2); // fits vertically: centred
  });

  it("fits and centres a graph that fits, without blowing up a small one", () => {
    const v = readableViewport({ x: 100, y: 50, width: 600, height: 300 }, view);
    expect(v.zoom).toBeCloseTo(Math.min(1.2, (870 - 48) / 600));
    expect(v.x + 100 * v.zoom + (600 * v.zoom) / 2).toBeCloseTo(435);
    expect(readableViewport({ x: 0, y: 0, width: 100, height: 60 }, view).zoom).toBe(1.2);
  });
});

describe("keeping nodes clear of the mini map", () => {
  const map = { x: 700, y: 600, width: 168, height: 112 };

  it("does nothing when the node is clear", () => {
    expect(overlaps({ x: 0, y: 0, width: 100, height: 50 }, map)).toBe(false);
    expect(panClearOf({ x: 0, y: 0, width: 100, height: 50 }, map)).toEqual({ dx: 0, dy: 0 });
  });

  it("pans the shorter way: left or up, with a margin", () => {
    const under = { x: 760, y: 620, width: 130, height: 80 };
    expect(overlaps(under, map)).toBe(true);
    const pan = panClearOf(under, map);
    expect(pan).toEqual({ dx: 0, dy: -(620 + 80 - 600 + 16) });
    const moved = { ...under, x: under.x + pan.dx, y: under.y + pan.dy };
    expect(overlaps(moved, map)).toBe(false);
    const wide = panClearOf({ x: 690, y: 560, width: 30, height: 200 }, map);
    expect(wide).toEqual({ dx: -(690 + 30 - 700 + 16), dy: 0 });
  });
});
