/**
 * What the Pareto chart says while it has no point to draw: what the search
 * is doing (waiting to start, candidates in training, everything rejected so
 * far), in words, instead of bare axes.
 */

import type { Funnel } from "./funnel";

export interface EmptyChartInput {
  status: string | null;
  /** Candidates per status (the monitor's live counts). */
  counts: Record<string, number>;
  /** Rejected candidates per reason, most frequent first. */
  reasons: [string, number][];
  funnel: Funnel | null;
}

function n(counts: Record<string, number>, key: string): number {
  return counts[key] ?? 0;
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

function refusedNote(funnel: Funnel | null): string {
  const refused = funnel ? funnel.refused_static + funnel.refused_probe : 0;
  return refused > 0 ? ` The free checks refused ${plural(refused, "layer")} so far, at no cost to the budget.` : "";
}

/** The message for a chart with no evaluated candidate (null when there is something to draw). */
export function emptyChartMessage(evaluatedPoints: number, input: EmptyChartInput): string | null {
  if (evaluatedPoints > 0) return null;
  const { status, counts, reasons, funnel } = input;
  const training = n(counts, "running");
  const queued = n(counts, "queued");
  const rejected = n(counts, "rejected");
  const failed = n(counts, "failed") + n(counts, "lost");
  const done = rejected + failed + n(counts, "evaluated");
  const ended = status === "finished" || status === "stopped" || status === "failed";
  const why = reasons.length ? ` (${reasons.map(([r, k]) => `${r} ${k}`).join(", ")})` : "";
  const waiting =
    training || queued
      ? `${plural(training, "candidate")} in training${queued ? `, ${queued} queued` : ""}`
      : "";

  if (ended) {
    if (done === 0) return `The search ended before any candidate finished training; nothing to plot.${refusedNote(funnel)}`;
    return `The search ended with no evaluated candidate: ${plural(done, "finished candidate")}, ${rejected} rejected${why}${
      failed ? `, ${failed} failed` : ""
    }. See the funnel for where the layers went.`;
  }
  const paused = status === "paused" ? "Paused. " : "";
  if (done === 0) {
    if (!waiting) return `${paused}Waiting for the first candidate to be proposed.${refusedNote(funnel)}`;
    return `${paused}Waiting for the first result: ${waiting}.${refusedNote(funnel)}`;
  }
  const all = rejected === done ? `All ${plural(done, "finished candidate")} were rejected so far${why}` :
    `No finished candidate passed so far: ${rejected} rejected${why}, ${failed} failed`;
  return `${paused}${all}: see the funnel.${waiting ? ` ${waiting[0].toUpperCase()}${waiting.slice(1)}.` : ""}`;
}
