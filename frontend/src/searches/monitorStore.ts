/**
 * Glue between the event stream and React: loads the detail and a candidate
 * snapshot, opens the stream after the detail's last_seq, coalesces incoming
 * events into batches applied at most every ~150 ms, and publishes a snapshot
 * for useSyncExternalStore. One instance per monitored search.
 */

import { api } from "../api/client";
import type { LabEvent, SearchDetail } from "../api/types";
import { Coalescer } from "./scheduler";
import { applyEvents, emptyState, loadSnapshot, type SearchState } from "./store";
import { SearchStream, type ConnectionState } from "./stream";

export interface MonitorSnapshot {
  version: number;
  state: SearchState;
  detail: SearchDetail | null;
  connection: ConnectionState;
  reconnects: number;
  error: string | null;
  loading: boolean;
  /**
   * Client clock minus server clock (ms), at most: the smallest gap seen
   * between receiving an event and its created_at. Throughput windows use
   * server timestamps, so "now" must be on the server's clock too.
   */
  clockOffsetMs: number;
  /** When this snapshot was published (client clock): render reads the time from here, not Date.now. */
  publishedAt: number;
}

declare global {
  interface Window {
    /** Test/debug hook: the live stream of the monitor on screen. */
    __labStream?: {
      dropConnection: (holdMs?: number) => void;
      readonly state: ConnectionState;
      readonly lastSeq: number;
      readonly connections: number;
      readonly candidateIds: number[];
    };
  }
}

export class MonitorStore {
  readonly searchId: number;
  private state: SearchState = emptyState();
  private detail: SearchDetail | null = null;
  private connection: ConnectionState = "connecting";
  private reconnects = 0;
  private error: string | null = null;
  private loading = true;
  private clockOffsetMs: number | null = null;
  private snapshot: MonitorSnapshot;
  private listeners = new Set<() => void>();
  private stream: SearchStream | null = null;
  private coalescer: Coalescer<LabEvent>;
  private disposed = false;
  /** Bumped by start() and dispose(), so a stale async start gives up. */
  private generation = 0;
  private hook: Window["__labStream"] | null = null;
  private detailTimer: ReturnType<typeof setInterval> | null = null;

  constructor(searchId: number, flushIntervalMs = 150) {
    this.searchId = searchId;
    this.coalescer = new Coalescer<LabEvent>((batch) => this.applyBatch(batch), flushIntervalMs);
    this.snapshot = this.makeSnapshot();
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): MonitorSnapshot => this.snapshot;

  private makeSnapshot(): MonitorSnapshot {
    return {
      version: this.state.version,
      state: this.state,
      detail: this.detail,
      connection: this.connection,
      reconnects: this.reconnects,
      error: this.error,
      loading: this.loading,
      clockOffsetMs: this.clockOffsetMs ?? 0,
      publishedAt: Date.now(),
    };
  }

  private publish(): void {
    this.snapshot = this.makeSnapshot();
    for (const l of this.listeners) l();
  }

  private applyBatch(batch: LabEvent[]): void {
    const before = this.state.status;
    const received = Date.now();
    for (const ev of batch) {
      const t = ev.created_at ? Date.parse(ev.created_at) : NaN;
      if (Number.isFinite(t)) {
        const gap = received - t;
        if (this.clockOffsetMs === null || gap < this.clockOffsetMs) this.clockOffsetMs = gap;
      }
    }
    applyEvents(this.state, batch);
    if (this.state.status !== before) void this.refreshDetail();
    this.publish();
  }

  async start(): Promise<void> {
    const gen = ++this.generation;
    this.disposed = false;
    const current = () => gen === this.generation && !this.disposed;
    try {
      const detail = await api.getSearch(this.searchId);
      if (!current()) return;
      this.detail = detail;
      const candidates = await api.allCandidates(this.searchId);
      if (!current()) return;
      loadSnapshot(this.state, detail, candidates);
      this.loading = false;
      this.error = null;
      this.publish();
    } catch (e) {
      if (!current()) return;
      this.loading = false;
      this.error = e instanceof Error ? e.message : String(e);
      this.publish();
      return;
    }
    const stream = new SearchStream({
      lastSeq: this.state.lastSeq,
      url: (after) => api.searchSocketUrl(this.searchId, after),
      fetchAfter: (after) => api.searchEvents(this.searchId, after, 500),
      onEvents: (events) => this.coalescer.push(...events),
      onState: (s) => {
        if (s === "connected" && stream.connections > 1) this.reconnects++;
        this.connection = s;
        this.publish();
      },
    });
    this.stream = stream;
    const state = this.state;
    this.hook = {
      dropConnection: (holdMs?: number) => stream.dropConnection(holdMs),
      get state() {
        return stream.state;
      },
      get lastSeq() {
        return stream.lastSeq;
      },
      get connections() {
        return stream.connections;
      },
      get candidateIds() {
        return [...state.order];
      },
    };
    window.__labStream = this.hook;
    stream.start();
    // The detail carries server-side figures (throughput, workers) that no
    // event updates; refresh it now and then while the monitor is open.
    this.detailTimer = setInterval(() => void this.refreshDetail(), 10_000);
  }

  async refreshDetail(): Promise<void> {
    try {
      const d = await api.getSearch(this.searchId);
      if (this.disposed) return;
      this.detail = d;
      this.publish();
    } catch {
      /* keep the last one */
    }
  }

  /** Replace the detail after a control action answered with a new one. */
  setDetail(d: SearchDetail): void {
    this.detail = d;
    if (d.status) this.state.status = d.status;
    this.publish();
  }

  dispose(): void {
    this.disposed = true;
    this.generation++;
    this.coalescer.flush();
    this.stream?.stop();
    this.stream = null;
    if (this.detailTimer) clearInterval(this.detailTimer);
    this.detailTimer = null;
    if (this.hook && window.__labStream === this.hook) delete window.__labStream;
    this.hook = null;
  }
}
