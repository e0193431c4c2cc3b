/** Small shared presentational pieces (badges, dates, page states). */
import type { ReactNode } from "react";
import { errorMessage } from "../api/client";
import type { Mode } from "../api/types";

export function ModeBadge({ mode, title }: { mode: Mode | null | undefined; title?: string }) {
  if (!mode) return null;
  const text = mode === "B" ? "B: batch-based (uses batch statistics)" : "S: sample-based (no batch statistics)";
  return (
    <span className={`badge mode-${mode}`} title={title ?? text} aria-label={`mode ${text}`}>
      {mode}
    </span>
  );
}

export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString();
}

/**
 * The one way a page shows an error: an alert with the server's own words.
 * `error` (any thrown value or message) goes through errorMessage, after
 * `children` (a lead-in); nothing is drawn when both are empty.
 */
export function ErrorNote({ error, children }: { error?: unknown; children?: ReactNode }) {
  if (!children && !error) return null;
  return (
    <p role="alert" className="error">
      {children}
      {error ? errorMessage(error) : null}
    </p>
  );
}

export function NotFound() {
  return (
    <div>
      <h1>Not found</h1>
      <p>There is no page at this address.</p>
    </div>
  );
}
