import { describe, expect, it } from "vitest";
import { searchStatusText } from "./status";

describe("search status in words", () => {
  it("says a stopped search was stopped, not finished", () => {
    expect(searchStatusText("stopped", "done", "stopped by its owner")).toEqual({
      label: "stopped",
      detail: "stopped by its owner",
      ended: true,
    });
  });
  it("gives the reason a search finished or failed", () => {
    expect(searchStatusText("finished", "done", "budget of 50 candidates spent; top 5 re-ranked").detail).toBe(
      "budget of 50 candidates spent; top 5 re-ranked",
    );
    expect(searchStatusText("failed", "done", "the engine could not propose a candidate").detail).toMatch(/engine/);
    expect(searchStatusText("failed", "done", null).detail).toBe("the reason was not recorded");
  });
  it("says what a live search is doing", () => {
    expect(searchStatusText("running", "evolution", null)).toMatchObject({ label: "running", detail: "evolving", ended: false });
    expect(searchStatusText("running", "rerank", "budget of 8 candidates spent").detail).toBe(
      "re-ranking the best candidates (budget of 8 candidates spent)",
    );
    expect(searchStatusText("paused", "evolution", null).ended).toBe(false);
  });
});
