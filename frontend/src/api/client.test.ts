import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiError, getCookie } from "./client";
import { normalizeOpRegistry } from "./registry";

afterEach(() => {
  vi.unstubAllGlobals();
  document.cookie = "csrftoken=; expires=Thu, 01 Jan 1970 00:00:00 GMT";
});

describe("api client", () => {
  it("sends the CSRF token from the cookie on writes only", async () => {
    document.cookie = "csrftoken=abc123";
    expect(getCookie("csrftoken")).toBe("abc123");
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ valid: true }), { status: 200 }));
    vi.stubGlobal("fetch", fetchMock);
    await api.validateLayer({ format: "layer-graph/1", nodes: [], output: "x" });
    await api.me();
    const calls = fetchMock.mock.calls as unknown as Array<[string, RequestInit]>;
    const [url, init] = calls[0];
    expect(url).toBe("/api/layers/validate");
    expect((init.headers as Record<string, string>)["X-CSRFToken"]).toBe("abc123");
    expect(JSON.parse(init.body as string)).toEqual({ document: { format: "layer-graph/1", nodes: [], output: "x" } });
    expect((calls[1][1].headers as Record<string, string>)["X-CSRFToken"]).toBeUndefined();
  });

  it("turns an error body into an ApiError with code and node", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(
        async () =>
          new Response(JSON.stringify({ error: { code: "cycle", message: "cycle through b", node: "b", field: null } }), {
            status: 400,
          }),
      ),
    );
    const err = await api.numericCheck({ format: "layer-graph/1", nodes: [], output: "x" }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("cycle");
    expect(err.node).toBe("b");
    expect(err.status).toBe(400);
  });

  it("adds paging parameters to list requests", async () => {
    const fetchMock = vi.fn(async () => new Response(JSON.stringify({ count: 0, items: [] })));
    vi.stubGlobal("fetch", fetchMock);
    await api.listLayers({ page: 2, page_size: 10 });
    expect((fetchMock.mock.calls as unknown as Array<[string]>)[0][0]).toBe("/api/layers?page=2&page_size=10");
  });
});

describe("normalizeOpRegistry", () => {
  it("accepts a list of ops and a name-keyed mapping", () => {
    const a = normalizeOpRegistry({
      ops: [{ name: "add", arity: 2, category: "elementwise", description: "a + b" }],
      inputs: [{ name: "x", description: "the input" }],
    });
    expect(a.ops[0]).toMatchObject({ name: "add", arity: 2, category: "element-wise", slots: ["a", "b"] });
    expect(a.inputs[0].name).toBe("x");
    const b = normalizeOpRegistry({ group_var: { arity: 1, group: "aggregation", params: { groups: { default: 32 } } } });
    expect(b.ops[0]).toMatchObject({ name: "group_var", category: "aggregation" });
    expect(b.ops[0].params.groups.default).toBe(32);
  });
});
