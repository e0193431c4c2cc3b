/** Small shared presentational pieces (badges, dates, page states). */
import type { ReactNode } from "react";
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

export function ErrorNote({ children }: { children: ReactNode }) {
  return (
    <p role="alert" className="error">
      {children}
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
