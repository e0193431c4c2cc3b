import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { createMemoryRouter, RouterProvider } from "react-router";
import { createQueryClient } from "../api/queries";
import { CandidatePage } from "./CandidatePage";
import { USE_IN_MODEL_LINES, UseInModel } from "./UseInModel";
import { cand } from "./testData";

// The graph (React Flow) and the curves (ECharts) need a real browser; the
// browser tests draw them. Here only the page's text matters.
vi.mock("./CandidateGraph", () => ({ CandidateGraph: () => null }));
vi.mock("./CurvesChart", () => ({ CurvesChart: () => null }));

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("UseInModel", () => {
  it("shows the import, the call and the optimizer built after it, in that order", () => {
    render(<UseInModel />);
    const code = screen.getByTestId("use-in-model").textContent ?? "";
    const lines = code.split("\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^from layer import replace_norm_act\b/);
    expect(lines[1]).toMatch(/^model, n = replace_norm_act\(model\)/);
    expect(lines[2]).toMatch(/^optimizer = .*model\.parameters\(\)/);
    expect(lines).toEqual(USE_IN_MODEL_LINES);
    expect(screen.getByRole("heading", { name: "Use it in your model" })).toBeTruthy();
  });

  it("is on the candidate page next to the downloads", async () => {
    const detail = {
      ...cand(7, { status: "evaluated", formula: "x / sqrt(group_var(x))" }),
      document: { format: "layer-graph/1", nodes: [], output: "x" },
      curves: {},
      timings: {},
      message: "",
      lineage: [],
    };
    vi.stubGlobal(
      "fetch",
      vi.fn(async (url: string) =>
        url.startsWith("/api/candidates/7")
          ? new Response(JSON.stringify(detail), { status: 200, headers: { "Content-Type": "application/json" } })
          : new Response("{}", { status: 404, headers: { "Content-Type": "application/json" } }),
      ),
    );
    const router = createMemoryRouter([{ path: "/candidates/:candidateId/", element: <CandidatePage /> }], {
      initialEntries: ["/candidates/7/"],
    });
    render(
      <QueryClientProvider client={createQueryClient()}>
        <RouterProvider router={router} />
      </QueryClientProvider>,
    );
    const code = await screen.findByTestId("use-in-model");
    expect(code.textContent).toContain("model, n = replace_norm_act(model)");
    expect(screen.getByText("Download bundle.zip")).toBeTruthy();
  });
});
