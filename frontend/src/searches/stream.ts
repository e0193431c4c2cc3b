/**
 * The monitor's connection to ws/searches/<id>/: connects with `after=<last
 * seq>` so the server replays what we missed, reconnects with exponential
 * backoff after any drop, drops duplicates, and when a seq jumps ahead it
 * fills the gap from GET /api/searches/<id>/events before going on. It hands
 * the consumer a gap-free, duplicate-free, ordered sequence of stored events,
 * plus ephemeral progress events (seq null) as they come.
 */

import type { LabEvent } from "../api/types";

export type ConnectionState = "connecting" | "connected" | "reconnecting" | "closed" | "failed";

/** The subset of the WebSocket API the client uses (a fake one in tests). */
export interface SocketLike {
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason?: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface StreamOptions {
  /** URL of the socket for a given last seen seq. */
  url: (after: number) => string;
  /** Events after `after`, from the HTTP API (used to fill gaps). */
  fetchAfter: (after: number) => Promise<{ events: LabEvent[]; last_seq: number }>;
  /** Ordered, gap-free stored events, and progress events. */
  onEvents: (events: LabEvent[]) => void;
  onState?: (state: ConnectionState, detail: { attempt: number; code?: number }) => void;
  lastSeq?: number;
  createSocket?: (url: string) => SocketLike;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  /** Ping cadence; the server answers after sending any stored event we lack. */
  pingIntervalMs?: number;
  /** No message this long after a ping: the socket is dead, reconnect. */
  pongTimeoutMs?: number;
  random?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

/** Close codes after which reconnecting cannot help. */
const FATAL_CODES = new Set([4401, 4403, 4404]);
/** "Try again later": the server accepted, then found its Redis down. Not a working connection. */
const TRY_AGAIN = 4503;

export class SearchStream {
  private opts: Required<Omit<StreamOptions, "onState">> & Pick<StreamOptions, "onState">;
  private socket: SocketLike | null = null;
  private _lastSeq: number;
  private _state: ConnectionState = "closed";
  private attempt = 0;
  private reconnectTimer: unknown = null;
  private pingTimer: unknown = null;
  private pongTimer: unknown = null;
  private stopped = true;
  private ahead = new Map<number, LabEvent>();
  private filling = false;
  private holdUntil = 0;
  /** Number of times the socket opened (1 for the first connection). */
  connections = 0;

  constructor(opts: StreamOptions) {
    this.opts = {
      lastSeq: 0,
      createSocket: (url) => new WebSocket(url) as unknown as SocketLike,
      initialBackoffMs: 500,
      maxBackoffMs: 15_000,
      pingIntervalMs: 10_000,
      pongTimeoutMs: 10_000,
      random: Math.random,
      setTimer: (fn, ms) => globalThis.setTimeout(fn, ms),
      clearTimer: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
      ...opts,
    };
    this._lastSeq = opts.lastSeq ?? 0;
  }

  get lastSeq(): number {
    return this._lastSeq;
  }

  get state(): ConnectionState {
    return this._state;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  /** Close for good (leaving the page). */
  stop(): void {
    this.stopped = true;
    this.clearTimers();
    const s = this.socket;
    this.socket = null;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.onerror = null;
      s.onopen = null;
      s.close(1000, "leaving");
    }
    this.setState("closed");
  }

  /**
   * Test/debug hook: drop the socket abruptly as a network failure would,
   * so the normal reconnect-and-replay path runs. `holdMs` keeps the client
   * offline at least that long, so events are missed and must be replayed.
   */
  dropConnection(holdMs = 0): void {
    this.holdUntil = Date.now() + Math.max(0, holdMs);
    const s = this.socket;
    if (!s) return;
    s.close(4000, "dropped by debug hook");
  }

  /** Backoff before reconnect attempt `n` (1-based): doubling, capped, with jitter. */
  backoffMs(n: number): number {
    const base = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** (n - 1));
    return Math.round(base * (0.75 + 0.5 * this.opts.random()));
  }

  private setState(state: ConnectionState, code?: number): void {
    this._state = state;
    this.opts.onState?.(state, { attempt: this.attempt, code });
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== null) this.opts.clearTimer(this.reconnectTimer);
    this.reconnectTimer = null;
    this.clearPing();
  }

  private clearPing(): void {
    if (this.pingTimer !== null) this.opts.clearTimer(this.pingTimer);
    if (this.pongTimer !== null) this.opts.clearTimer(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  private connect(): void {
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting");
    let socket: SocketLike;
    try {
      socket = this.opts.createSocket(this.opts.url(this._lastSeq));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    const attemptBefore = this.attempt;
    socket.onopen = () => {
      if (this.socket !== socket) return;
      this.attempt = 0;
      this.connections++;
      this.setState("connected");
      this.schedulePing();
    };
    socket.onmessage = (ev) => {
      if (this.socket !== socket) return;
      if (this.pongTimer !== null) {
        this.opts.clearTimer(this.pongTimer);
        this.pongTimer = null;
      }
      this.handleMessage(ev.data);
    };
    socket.onerror = () => {
      /* a close always follows; reconnect happens there */
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.clearPing();
      if (this.stopped) return;
      if (FATAL_CODES.has(ev.code)) {
        this.stopped = true;
        this.setState("failed", ev.code);
        return;
      }
      // An open that the server closed at once with 4503 was no connection:
      // keep backing off instead of retrying every half second.
      if (ev.code === TRY_AGAIN) this.attempt = Math.max(this.attempt, attemptBefore);
      this.scheduleReconnect();
    };
  }

  private scheduleReconnect(): void {
    this.attempt++;
    this.setState("reconnecting");
    this.reconnectTimer = this.opts.setTimer(() => {
      this.reconnectTimer = null;
      if (!this.stopped) this.connect();
    }, Math.max(this.backoffMs(this.attempt), this.holdUntil - Date.now()));
  }

  private schedulePing(): void {
    this.pingTimer = this.opts.setTimer(() => {
      this.pingTimer = null;
      const socket = this.socket;
      if (!socket || this._state !== "connected") return;
      try {
        socket.send(JSON.stringify({ type: "ping" }));
      } catch {
        /* the close handler reconnects */
      }
      if (this.pongTimer === null) {
        this.pongTimer = this.opts.setTimer(() => {
          this.pongTimer = null;
          if (this.socket === socket) this.abandon(socket);
        }, this.opts.pongTimeoutMs);
      }
      this.schedulePing();
    }, this.opts.pingIntervalMs);
  }

  /** Give up on a socket that stopped answering (half-open): reconnect now. */
  private abandon(socket: SocketLike): void {
    socket.onopen = null;
    socket.onmessage = null;
    socket.onclose = null;
    socket.onerror = null;
    try {
      socket.close(4000, "no pong");
    } catch {
      /* already closed */
    }
    this.socket = null;
    this.clearPing();
    if (!this.stopped) this.scheduleReconnect();
  }

  private handleMessage(data: unknown): void {
    let msg: LabEvent;
    try {
      msg = JSON.parse(String(data)) as LabEvent;
    } catch {
      return;
    }
    if (!msg || typeof msg !== "object" || typeof msg.type !== "string") return;
    if (msg.type === "pong" || msg.type === "error") return;
    if (msg.seq === null || msg.seq === undefined) {
      this.opts.onEvents([msg]);
      return;
    }
    this.receive([msg]);
  }

  /** Deliver what is next in order; hold what is ahead; fill gaps over HTTP. */
  private receive(events: LabEvent[]): void {
    for (const ev of events) {
      const seq = ev.seq as number;
      if (seq > this._lastSeq && !this.ahead.has(seq)) this.ahead.set(seq, ev);
    }
    const ready: LabEvent[] = [];
    for (;;) {
      const next = this.ahead.get(this._lastSeq + 1);
      if (!next) break;
      this.ahead.delete(this._lastSeq + 1);
      ready.push(next);
      this._lastSeq++;
    }
    if (ready.length) this.opts.onEvents(ready);
    if (this.ahead.size > 0) void this.fillGap();
  }

  private async fillGap(): Promise<void> {
    if (this.filling) return;
    this.filling = true;
    try {
      for (let guard = 0; guard < 1000 && this.ahead.size > 0 && !this.stopped; guard++) {
        const before = this._lastSeq;
        const res = await this.opts.fetchAfter(this._lastSeq);
        const stored = res.events.filter((e) => e.seq !== null && e.seq !== undefined);
        this.receive(stored);
        if (this._lastSeq === before) break; // the server has nothing newer yet
      }
    } catch {
      // leave it: the next message or reconnect (after=lastSeq) retries
    } finally {
      this.filling = false;
    }
  }
}
