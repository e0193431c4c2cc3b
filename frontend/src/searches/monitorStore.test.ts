import { afterEach, describe, expect, it, vi } from "vitest";
import { MonitorStore } from "./monitorStore";
import { cand, ev } from "./testData";

class FakeWS {
  static all: FakeWS[] = [];
  onopen: ((e: unknown) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onerror: ((e: unknown) => void) | null = null;
  constructor(public url: string) {
    FakeWS.all.push(this);
  }
  send() {}
  close(code = 1000) {
    this.onclose?.({ code });
  }
}

function stubServer() {
  const detail = {
    id: 7, name: "s", status: "running", stage: "evolution", preset: "cpu-quick", mode: "B", counts: {}, budget: 10,
    created_at: "", best: null, config: {}, seed: 1, architectures: ["a", "b"], last_seq: 2, started_at: null,
    finished_at: null, eta_seconds: null, throughput_per_minute: null, active_workers: 0, rerank: null,
  };
  const snapshot = [cand(1, { status: "running", worker: "w1" })];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (url: string) => {
      let body: unknown = {};
      if (url.startsWith("/api/searches/7/candidates")) body = { count: snapshot.length, items: snapshot };
      else if (url.startsWith("/api/searches/7/events")) body = { events: [], last_seq: 2 };
      else if (url.startsWith("/api/searches/7")) body = detail;
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    }),
  );
  vi.stubGlobal("WebSocket", FakeWS);
}

afterEach(() => {
  vi.unstubAllGlobals();
  FakeWS.all = [];
});

const until = async (f: () => boolean) => {
  for (let i = 0; i < 100 && !f(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(f()).toBe(true);
};

describe("MonitorStore", () => {
  it("loads the snapshot, streams after last_seq and publishes bursts coalesced", async () => {
    stubServer();
    const store = new MonitorStore(7, 40);
    let publishes = 0;
    store.subscribe(() => publishes++);
    void store.start();
    await until(() => FakeWS.all.length === 1);
    expect(FakeWS.all[0].url).toMatch(/\/ws\/searches\/7\/\?after=2$/);
    expect(store.getSnapshot().state.candidates.size).toBe(1);
    FakeWS.all[0].onopen?.({});
    expect(store.getSnapshot().connection).toBe("connected");
    expect(window.__labStream?.lastSeq).toBe(2);
    const before = publishes;
    let seq = 2;
    for (let i = 2; i <= 101; i++) {
      FakeWS.all[0].onmessage?.({ data: JSON.stringify(ev(++seq, "candidate.created", { candidate: cand(i), tournament: null })) });
    }
    expect(store.getSnapshot().state.candidates.size).toBe(1); // not yet: coalesced
    await until(() => store.getSnapshot().state.candidates.size === 101);
    expect(publishes - before).toBeLessThanOrEqual(2);
    // testData's events are stamped 2026-01-01T00:00:01Z: the offset is now minus that
    const offset = store.getSnapshot().clockOffsetMs;
    expect(Math.abs(Date.now() - Date.parse("2026-01-01T00:00:01Z") - offset)).toBeLessThan(5000);
    store.dispose();
    expect(window.__labStream).toBeUndefined();
  });

  it("survives start, dispose, start (React strict mode)", async () => {
    stubServer();
    const store = new MonitorStore(7, 40);
    void store.start();
    store.dispose();
    void store.start();
    await until(() => FakeWS.all.length >= 1);
    await new Promise((r) => setTimeout(r, 20));
    expect(FakeWS.all).toHaveLength(1);
    expect(store.getSnapshot().loading).toBe(false);
    expect(store.getSnapshot().state.counts.running).toBe(1);
    store.dispose();
  });
});
