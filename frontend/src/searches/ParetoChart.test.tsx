import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { ParetoChart } from "./ParetoChart";
import { applyEvents, emptyState } from "./store";
import { cand, ev } from "./testData";

// jsdom has no canvas, so the ECharts binding is replaced by a bare ref here;
// the browser tests (tests/frontend/test_monitor_e2e.py) draw the real chart.
vi.mock("./charts", () => ({ useChart: () => () => {} }));

afterEach(cleanup);

function finished(id: number, status: "evaluated" | "rejected", patch = {}) {
  return ev(id, "candidate.finished", { candidate: cand(id, { status, ...patch }) });
}

describe("ParetoChart", () => {
  it("explains an empty front with the rejection reasons", () => {
    const state = emptyState();
    applyEvents(state, [
      finished(1, "rejected", { rejection_reason: "unstable" }),
      finished(2, "rejected", { rejection_reason: "numeric_nan" }),
      finished(3, "rejected", { rejection_reason: "unstable" }),
    ]);
    render(<ParetoChart state={state} version={state.version} architectures={["a", "b"]} onOpen={() => {}} />);
    const note = screen.getByTestId("empty-front");
    expect(note.textContent).toBe("All 3 finished candidates were rejected so far (unstable 2, numeric_nan 1): see the funnel.");
    expect(note.textContent).not.toContain("reference layers as seeds");
    // no bare axes under the message
    expect(screen.queryByRole("img")).toBeNull();
  });

  it("offers to compare the front once it has more than one layer", () => {
    const state = emptyState();
    applyEvents(state, [
      finished(1, "evaluated", { scores: { a: 0.5, b: 0.7 } }),
      finished(2, "evaluated", { scores: { a: 0.7, b: 0.5 } }),
    ]);
    const onCompare = vi.fn();
    render(
      <ParetoChart state={state} version={state.version} architectures={["a", "b"]} onOpen={() => {}} onCompare={onCompare} />,
    );
    screen.getByRole("button", { name: "Compare the front (2)" }).click();
    expect(onCompare).toHaveBeenCalledWith([1, 2]);
  });

  it("says nothing more once a candidate is on the front", () => {
    const state = emptyState();
    applyEvents(state, [
      finished(1, "rejected", { rejection_reason: "unstable" }),
      finished(2, "evaluated", { scores: { a: 0.5, b: 0.6 } }),
    ]);
    render(<ParetoChart state={state} version={state.version} architectures={["a", "b"]} onOpen={() => {}} />);
    expect(screen.queryByTestId("empty-front")).toBeNull();
    expect(screen.getByRole("img").getAttribute("data-points")).toBe("1");
  });
});
