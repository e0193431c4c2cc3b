/**
 * Coalesces a stream of items into batches flushed at most once per interval,
 * so a burst of thousands of websocket events costs one state update and one
 * React render instead of one per event.
 */

export interface TimerApi {
  setTimeout: (fn: () => void, ms: number) => unknown;
  clearTimeout: (handle: unknown) => void;
  now: () => number;
}

const realTimers: TimerApi = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  now: () => Date.now(),
};

export class Coalescer<T> {
  private queue: T[] = [];
  private handle: unknown = null;
  private lastFlush = -Infinity;
  private readonly flushFn: (batch: T[]) => void;
  private readonly intervalMs: number;
  private readonly timers: TimerApi;

  constructor(flush: (batch: T[]) => void, intervalMs = 150, timers: TimerApi = realTimers) {
    this.flushFn = flush;
    this.intervalMs = intervalMs;
    this.timers = timers;
  }

  /** Queue items; a flush runs after at most `intervalMs` (never twice within it). */
  push(...items: T[]): void {
    if (items.length === 0) return;
    this.queue.push(...items);
    if (this.handle !== null) return;
    const since = this.timers.now() - this.lastFlush;
    const wait = Math.max(0, this.intervalMs - since);
    // Even with wait 0 we defer, so a synchronous burst still becomes one batch.
    this.handle = this.timers.setTimeout(() => this.flush(), wait);
  }

  get pending(): number {
    return this.queue.length;
  }

  /** Apply everything queued now (used on teardown and in tests). */
  flush(): void {
    if (this.handle !== null) {
      this.timers.clearTimeout(this.handle);
      this.handle = null;
    }
    if (this.queue.length === 0) return;
    const batch = this.queue;
    this.queue = [];
    this.lastFlush = this.timers.now();
    this.flushFn(batch);
  }

  cancel(): void {
    if (this.handle !== null) this.timers.clearTimeout(this.handle);
    this.handle = null;
    this.queue = [];
  }
}
