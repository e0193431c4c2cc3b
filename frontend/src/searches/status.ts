/**
 * What a search's status means in words: the status itself, and a line that
 * says why (for an ended search) or what is happening (for a live one).
 */

export interface StatusText {
  /** The status as shown on its badge. */
  label: string;
  /** Why it ended, or what it is doing now. */
  detail: string;
  /** True once the search can change no more. */
  ended: boolean;
}

const ENDED = new Set(["stopped", "finished", "failed"]);

export function searchStatusText(status: string, stage: string, reason: string | null | undefined): StatusText {
  const why = reason?.trim() || "";
  switch (status) {
    case "queued":
      return { label: "queued", detail: "waiting for its first candidates", ended: false };
    case "running":
      return {
        label: "running",
        detail: stage === "rerank" ? `re-ranking the best candidates${why ? ` (${why})` : ""}` : "evolving",
        ended: false,
      };
    case "paused":
      return { label: "paused", detail: "no new candidates; those in training finish", ended: false };
    case "stopping":
      return { label: "stopping", detail: why || "stopping", ended: false };
    case "stopped":
      return { label: "stopped", detail: why || "stopped by its owner", ended: true };
    case "finished":
      return { label: "finished", detail: why || "done", ended: true };
    case "failed":
      return { label: "failed", detail: why || "the reason was not recorded", ended: true };
    default:
      return { label: status, detail: why, ended: ENDED.has(status) };
  }
}
