import { describe, expect, it } from "vitest";
import { Coalescer, type TimerApi } from "./scheduler";

function fakeTimers() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  const api: TimerApi = {
    setTimeout: (fn, ms) => {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimeout: (h) => void timers.delete(h as number),
    now: () => now,
  };
  const advance = (ms: number) => {
    const end = now + ms;
    for (;;) {
      const due = [...timers.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (!due) break;
      timers.delete(due[0]);
      now = due[1].at;
      due[1].fn();
    }
    now = end;
  };
  return { api, advance, pending: () => timers.size };
}

describe("Coalescer", () => {
  it("turns a synchronous burst into one batch", () => {
    const t = fakeTimers();
    const batches: number[][] = [];
    const c = new Coalescer<number>((b) => batches.push(b), 150, t.api);
    for (let i = 0; i < 1000; i++) c.push(i);
    expect(batches).toHaveLength(0);
    t.advance(0);
    expect(batches).toHaveLength(1);
    expect(batches[0]).toHaveLength(1000);
  });

  it("flushes at most once per interval under a steady stream", () => {
    const t = fakeTimers();
    const batches: number[][] = [];
    const c = new Coalescer<number>((b) => batches.push(b), 150, t.api);
    for (let ms = 0; ms < 1000; ms += 10) {
      c.push(ms);
      t.advance(10);
    }
    t.advance(200);
    // 1000 ms of events at a 150 ms cadence: about 7-8 flushes, never 100.
    expect(batches.length).toBeGreaterThanOrEqual(6);
    expect(batches.length).toBeLessThanOrEqual(9);
    expect(batches.flat()).toHaveLength(100);
  });

  it("flush() applies immediately and cancel() drops the queue", () => {
    const t = fakeTimers();
    const batches: number[][] = [];
    const c = new Coalescer<number>((b) => batches.push(b), 150, t.api);
    c.push(1, 2);
    c.flush();
    expect(batches).toEqual([[1, 2]]);
    expect(t.pending()).toBe(0);
    c.push(3);
    c.cancel();
    t.advance(1000);
    expect(batches).toEqual([[1, 2]]);
  });
});
