import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { QueryClientProvider } from "@tanstack/react-query";
import { createMemoryRouter, RouterProvider } from "react-router";
import { createQueryClient } from "../api/queries";
import { LaunchPage } from "./LaunchForm";

const PRESETS = [
  {
    name: "cpu-quick",
    description: "quick",
    config: {
      mode: "B",
      population_size: 16,
      tournament_size: 4,
      budget: 50,
      eval: { dataset: "digits", architectures: ["resnet50", "mobilenetv2", "efficientnet_b0"], steps: 200, quality_steps: 60 },
    },
  },
  {
    name: "paper-s",
    description: "paper",
    config: {
      mode: "S",
      population_size: 100,
      tournament_size: 25,
      budget: 5000,
      eval: { dataset: "cifar10", architectures: ["resnet50", "mobilenetv2", "efficientnet_b0"], steps: 5000, quality_steps: 100 },
    },
  },
  {
    name: "demo",
    description: "demo, seeded with BN-ReLU",
    seed_references: ["bn_relu"],
    config: {
      mode: "B",
      population_size: 8,
      tournament_size: 2,
      budget: 12,
      eval: { dataset: "digits", architectures: ["mobilenetv2", "efficientnet_b0"], steps: 150, quality_steps: 75 },
    },
  },
];

const REFERENCES = [
  { slug: "bn_relu", name: "BN-ReLU", mode: "B", formula: "max(bn(x), 0)" },
  { slug: "gn_relu", name: "GN-ReLU", mode: "S", formula: "max(gn(x), 0)" },
];

type Handler = (url: string, init?: RequestInit) => { status: number; body: unknown };

function mockFetch(onPost: Handler) {
  const calls: { url: string; init?: RequestInit }[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string, init?: RequestInit) => {
      calls.push({ url, init });
      let res: { status: number; body: unknown };
      if (url.startsWith("/api/presets")) res = { status: 200, body: PRESETS };
      else if (url.startsWith("/api/layers")) res = { status: 200, body: { count: 0, items: [] } };
      else if (url.startsWith("/api/reference-layers")) res = { status: 200, body: REFERENCES };
      else res = onPost(url, init);
      return new Response(JSON.stringify(res.body), { status: res.status, headers: { "Content-Type": "application/json" } });
    }),
  );
  return calls;
}

function renderForm() {
  const router = createMemoryRouter(
    [
      { path: "/searches/new/", element: <LaunchPage /> },
      { path: "/searches/:id/", element: <p>monitor page</p> },
    ],
    { initialEntries: ["/searches/new/"] },
  );
  render(
    <QueryClientProvider client={createQueryClient()}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe("LaunchPage", () => {
  it("prefills from the preset and blocks invalid values before sending", async () => {
    const calls = mockFetch(() => ({ status: 500, body: {} }));
    renderForm();
    const budget = (await screen.findByLabelText("Budget (candidates)")) as HTMLInputElement;
    expect(budget.value).toBe("50");
    fireEvent.change(budget, { target: { value: "abc" } });
    fireEvent.change(screen.getByLabelText("Tournament size"), { target: { value: "99" } });
    fireEvent.change(screen.getByLabelText("Training steps"), { target: { value: "10" } });
    for (const a of ["resnet50", "mobilenetv2", "efficientnet_b0"]) fireEvent.click(screen.getByLabelText(a));
    fireEvent.click(screen.getByRole("button", { name: "Start search" }));
    expect(await screen.findByText("Budget must be a whole number.")).toBeTruthy();
    expect(screen.getByText("Tournament size cannot exceed the population.")).toBeTruthy();
    expect(screen.getByText(/at least 60/, { selector: ".field-error" })).toBeTruthy();
    expect(screen.getByText("Choose at least one architecture.")).toBeTruthy();
    expect(budget.getAttribute("aria-invalid")).toBe("true");
    expect(calls.some((c) => c.init?.method === "POST")).toBe(false);
  });

  it("switching preset refills the fields", async () => {
    mockFetch(() => ({ status: 500, body: {} }));
    renderForm();
    await screen.findByLabelText("Budget (candidates)");
    fireEvent.click(screen.getByRole("radio", { name: /paper-s/ }));
    expect((screen.getByLabelText("Budget (candidates)") as HTMLInputElement).value).toBe("5000");
    expect((screen.getByLabelText("Mode") as HTMLSelectElement).value).toBe("S");
    expect((screen.getByLabelText("Name") as HTMLInputElement).value).toBe("paper-s search");
  });

  it("ticks the seeds a preset suggests, labelled, and keeps the user's own", async () => {
    mockFetch(() => ({ status: 500, body: {} }));
    renderForm();
    const bn = (await screen.findByRole("checkbox", { name: /BN-ReLU/ })) as HTMLInputElement;
    const gn = screen.getByRole("checkbox", { name: /GN-ReLU/ }) as HTMLInputElement;
    expect(bn.checked).toBe(false);
    fireEvent.click(gn); // the user's own choice
    fireEvent.click(screen.getByRole("radio", { name: /demo/ }));
    expect(bn.checked).toBe(true);
    expect(screen.getByText(/suggested by demo/)).toBeTruthy();
    fireEvent.click(screen.getByRole("radio", { name: /cpu-quick/ }));
    expect(bn.checked).toBe(false);
    expect(gn.checked).toBe(true);
    expect(screen.queryByText(/suggested by/)).toBeNull();
  });

  it("sends only the overrides and opens the monitor", async () => {
    const calls = mockFetch(() => ({ status: 201, body: { id: 42 } }));
    const router = renderForm();
    fireEvent.change(await screen.findByLabelText("Budget (candidates)"), { target: { value: "6" } });
    fireEvent.click(screen.getByLabelText("efficientnet_b0"));
    fireEvent.click(screen.getByRole("button", { name: "Start search" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/searches/42/"));
    const post = calls.find((c) => c.init?.method === "POST")!;
    expect(post.url).toBe("/api/searches");
    expect(JSON.parse(String(post.init!.body))).toEqual({
      name: "cpu-quick search",
      preset: "cpu-quick",
      overrides: { budget: 6, eval: { architectures: ["resnet50", "mobilenetv2"] } },
      seed_layer_ids: [],
      seed_references: [],
    });
  });

  it("offers the strategy with a line on each, and sends random search when chosen", async () => {
    const calls = mockFetch(() => ({ status: 201, body: { id: 7 } }));
    const router = renderForm();
    const strategy = (await screen.findByLabelText("Strategy")) as HTMLSelectElement;
    expect(strategy.value).toBe("evolution");
    expect(screen.getByText(/Tournaments pick parents on the Pareto front/)).toBeTruthy();
    expect(screen.getByText(/Counts the candidates that reach training/)).toBeTruthy();
    fireEvent.change(strategy, { target: { value: "random" } });
    expect(screen.getByText(/Random layers only, with the same checks/)).toBeTruthy();
    expect(strategy.getAttribute("aria-describedby")).toBe("f-strategy-hint");
    fireEvent.click(screen.getByRole("button", { name: "Start search" }));
    await waitFor(() => expect(router.state.location.pathname).toBe("/searches/7/"));
    const post = calls.find((c) => c.init?.method === "POST")!;
    expect(JSON.parse(String(post.init!.body)).overrides).toEqual({ strategy: "random" });
  });

  it("puts a server error on the field it names", async () => {
    mockFetch(() => ({
      status: 400,
      body: { error: { code: "bad_value", message: "eval.steps must be <= 10000000", node: null, field: "eval.steps" } },
    }));
    renderForm();
    await screen.findByLabelText("Training steps");
    fireEvent.click(screen.getByRole("button", { name: "Start search" }));
    const err = await screen.findByText("eval.steps must be <= 10000000");
    expect(err.id).toBe("f-steps-error");
  });
});
