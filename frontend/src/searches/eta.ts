/**
 * Throughput and time-left estimates for the monitor: finished candidates per
 * minute over a sliding window, and the remaining budget divided by it.
 */

export const FINISHED_STATUSES = new Set(["evaluated", "rejected", "failed", "lost"]);

/**
 * Candidates finished per minute over the last `windowMs`, or null when too
 * little time has passed to say. `startMs` (the search's start) shortens the
 * window for a young search so its rate is not diluted by time before it ran.
 */
export function throughputPerMinute(
  finishTimesMs: readonly number[],
  nowMs: number,
  windowMs = 5 * 60_000,
  startMs: number | null = null,
): number | null {
  let span = windowMs;
  if (startMs !== null && Number.isFinite(startMs)) span = Math.min(windowMs, nowMs - startMs);
  if (!(span >= 5_000)) return null;
  const from = nowMs - span;
  let count = 0;
  for (const t of finishTimesMs) if (t > from && t <= nowMs) count++;
  return count / (span / 60_000);
}

/** Seconds left for `remaining` candidates at `perMinute`; null when unknown. */
export function etaSeconds(remaining: number, perMinute: number | null): number | null {
  if (remaining <= 0) return 0;
  if (perMinute === null || !(perMinute > 0)) return null;
  return (remaining / perMinute) * 60;
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, "0")}m`;
}
