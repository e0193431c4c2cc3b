import { describe, expect, it } from "vitest";
import type { LabEvent } from "../api/types";
import { SearchStream, type ConnectionState, type SocketLike } from "./stream";
import { ev } from "./testData";

class FakeSocket implements SocketLike {
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  sent: string[] = [];
  closed = false;
  constructor(public url: string) {}
  send(data: string) {
    this.sent.push(data);
  }
  close(code = 1000) {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.({ code });
  }
  open() {
    this.onopen?.({});
  }
  deliver(e: LabEvent | Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(e) });
  }
}

function harness(opts: { lastSeq?: number; stored?: LabEvent[] } = {}) {
  const sockets: FakeSocket[] = [];
  const timers: { fn: () => void; ms: number; id: number }[] = [];
  let nextId = 1;
  const received: LabEvent[] = [];
  const states: ConnectionState[] = [];
  const fetches: number[] = [];
  const stored = opts.stored ?? [];
  const stream = new SearchStream({
    lastSeq: opts.lastSeq ?? 0,
    url: (after) => `ws://x/ws/searches/1/?after=${after}`,
    fetchAfter: async (after) => {
      fetches.push(after);
      const events = stored.filter((e) => (e.seq as number) > after);
      return { events, last_seq: stored.length ? (stored[stored.length - 1].seq as number) : 0 };
    },
    onEvents: (evs) => received.push(...evs),
    onState: (s) => states.push(s),
    createSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    random: () => 0.5,
    initialBackoffMs: 100,
    maxBackoffMs: 1000,
    pingIntervalMs: 1_000_000,
    setTimer: (fn, ms) => {
      const id = nextId++;
      timers.push({ fn, ms, id });
      return id;
    },
    clearTimer: (h) => {
      const i = timers.findIndex((t) => t.id === h);
      if (i >= 0) timers.splice(i, 1);
    },
  });
  const runTimers = () => {
    const due = timers.splice(0, timers.length);
    for (const t of due) t.fn();
    return due.map((t) => t.ms);
  };
  return { stream, sockets, received, states, fetches, timers, runTimers };
}

const flush = () => new Promise((r) => setTimeout(r, 0));

describe("SearchStream", () => {
  it("connects after the last seq and delivers events in order", () => {
    const h = harness({ lastSeq: 4 });
    h.stream.start();
    expect(h.sockets[0].url).toContain("after=4");
    h.sockets[0].open();
    expect(h.stream.state).toBe("connected");
    h.sockets[0].deliver(ev(5, "a", {}));
    h.sockets[0].deliver(ev(6, "b", {}));
    expect(h.received.map((e) => e.seq)).toEqual([5, 6]);
    expect(h.stream.lastSeq).toBe(6);
  });

  it("drops duplicates and passes progress events through", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0].open();
    h.sockets[0].deliver(ev(1, "a", {}));
    h.sockets[0].deliver(ev(1, "a", {}));
    h.sockets[0].deliver(ev(null, "candidate.progress", { candidate_id: 1 }));
    h.sockets[0].deliver({ type: "pong" });
    expect(h.received.map((e) => e.seq)).toEqual([1, null]);
  });

  it("reconnects with backoff and asks for events after the last seq", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0].open();
    h.sockets[0].deliver(ev(1, "a", {}));
    h.sockets[0].deliver(ev(2, "a", {}));
    h.stream.dropConnection();
    expect(h.stream.state).toBe("reconnecting");
    expect(h.runTimers()).toEqual([100]);
    expect(h.sockets[1].url).toContain("after=2");
    // the second attempt fails before opening: backoff doubles
    h.sockets[1].close(1006);
    expect(h.runTimers()).toEqual([200]);
    h.sockets[2].close(1006);
    expect(h.runTimers()).toEqual([400]);
    h.sockets[3].open();
    expect(h.stream.state).toBe("connected");
    expect(h.stream.connections).toBe(2);
    // replay overlapping what we had is de-duplicated
    h.sockets[3].deliver(ev(2, "a", {}));
    h.sockets[3].deliver(ev(3, "a", {}));
    expect(h.received.map((e) => e.seq)).toEqual([1, 2, 3]);
    // after a successful open the backoff starts over
    h.sockets[3].close(1006);
    expect(h.runTimers()).toEqual([100]);
    expect(h.states).toContain("reconnecting");
  });

  it("keeps backing off while the server closes with 4503 (its Redis is down)", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0].open();
    h.sockets[0].close(1006);
    expect(h.runTimers()).toEqual([100]);
    // Each try is accepted and at once closed with "try again later": not a working connection.
    h.sockets[1].open();
    h.sockets[1].close(4503);
    expect(h.stream.state).toBe("reconnecting");
    expect(h.runTimers()).toEqual([200]);
    h.sockets[2].open();
    h.sockets[2].close(4503);
    expect(h.runTimers()).toEqual([400]);
    expect(h.states[h.states.length - 1]).toBe("reconnecting");
    // Redis is back: a real connection, and the backoff starts over after it.
    h.sockets[3].open();
    expect(h.stream.state).toBe("connected");
    h.sockets[3].close(1006);
    expect(h.runTimers()).toEqual([100]);
  });

  it("stays offline for the hold the debug hook asks for", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0].open();
    h.stream.dropConnection(5000);
    const [ms] = h.runTimers();
    expect(ms).toBeGreaterThan(4000);
    expect(h.sockets).toHaveLength(2);
  });

  it("pings, and reconnects when a ping goes unanswered", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0].open();
    // the harness's ping interval is huge; run the ping timer by hand
    const ping = h.timers.find((t) => t.ms === 1_000_000)!;
    h.timers.splice(h.timers.indexOf(ping), 1);
    ping.fn();
    expect(h.sockets[0].sent).toEqual([JSON.stringify({ type: "ping" })]);
    // an answer clears the pong deadline
    h.sockets[0].deliver({ type: "pong" });
    expect(h.timers.map((t) => t.ms)).toEqual([1_000_000]);
    // the next ping gets no answer: the socket is abandoned and a new one opened
    const ping2 = h.timers.pop()!;
    ping2.fn();
    const pong = h.timers.find((t) => t.ms === 10_000)!;
    h.timers.splice(h.timers.indexOf(pong), 1);
    pong.fn();
    expect(h.stream.state).toBe("reconnecting");
    expect(h.sockets[0].closed).toBe(true);
    h.runTimers();
    expect(h.sockets).toHaveLength(2);
    expect(h.sockets[1].url).toContain("after=0");
  });

  it("caps the backoff", () => {
    const h = harness();
    expect(h.stream.backoffMs(1)).toBe(100);
    expect(h.stream.backoffMs(20)).toBe(1000);
  });

  it("fills a gap over HTTP before delivering what came after it", async () => {
    const stored = [1, 2, 3, 4].map((s) => ev(s, "e", { n: s }));
    const h = harness({ stored });
    h.stream.start();
    h.sockets[0].open();
    h.sockets[0].deliver(stored[0]);
    h.sockets[0].deliver(stored[3]); // 2 and 3 were lost
    expect(h.received.map((e) => e.seq)).toEqual([1]);
    await flush();
    expect(h.fetches).toEqual([1]);
    expect(h.received.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(h.stream.lastSeq).toBe(4);
  });

  it("stops for good on 4401/4404 and on stop()", () => {
    const h = harness();
    h.stream.start();
    h.sockets[0].close(4404);
    expect(h.stream.state).toBe("failed");
    expect(h.timers).toHaveLength(0);
    const h2 = harness();
    h2.stream.start();
    h2.sockets[0].open();
    h2.stream.stop();
    expect(h2.stream.state).toBe("closed");
    expect(h2.timers).toHaveLength(0);
    expect(h2.sockets).toHaveLength(1);
  });
});
