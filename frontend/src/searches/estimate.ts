/**
 * The launch form's runtime box in words: how many candidates will really
 * train at once on this lab, and how long the search takes, from the costs
 * measured on this lab's workers (POST /api/searches/estimate).
 */

import type { SearchEstimate } from "../api/types";
import { formatDuration } from "./eta";

export type { SearchEstimate };

export interface EstimateText {
  /** What runs at once. */
  concurrency: string;
  /** True when fewer candidates train at once than the search keeps in flight. */
  short: boolean;
  /** How long, or why no figure is given. */
  time: string;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function estimateText(e: SearchEstimate, steps?: number): EstimateText {
  const slots = e.capacity.slots;
  let concurrency: string;
  if (slots === 0) {
    concurrency = "No evaluation worker is online: the search will wait in the queue until one starts.";
  } else if (e.at_once < e.parallel) {
    concurrency =
      `This lab trains ${plural(slots, "candidate")} at a time, so only ${e.at_once} of the ${e.parallel} ` +
      `this search keeps in flight will train at once; the others wait in the queue.`;
  } else {
    concurrency = `${plural(e.at_once, "candidate")} will train at once (this lab has ${plural(slots, "evaluation slot")}).`;
  }
  let time: string;
  if (e.total_seconds === null || e.cost.seconds === null) {
    time =
      slots === 0
        ? "No time estimate without a worker."
        : "No candidate has run with these settings on this lab yet, so there is no time estimate; " +
          "the monitor shows the time left once the first ones finish.";
  } else {
    const basis =
      e.cost.kind === "scaled"
        ? `measured at ${e.cost.steps_from} steps and scaled to ${steps ?? "these"} steps`
        : "measured with these settings";
    const rerank = e.rerank_seconds ? `, including ${formatDuration(e.rerank_seconds)} of re-ranking` : "";
    time =
      `About ${formatDuration(e.total_seconds)} for ${plural(e.budget, "candidate")}${rerank}: ` +
      `${formatDuration(e.cost.seconds)} per candidate, ${basis} over ${plural(e.cost.candidates, "candidate")} ` +
      `on this lab's workers, ${e.at_once} at a time.`;
  }
  return { concurrency, short: slots > 0 && e.at_once < e.parallel, time };
}
