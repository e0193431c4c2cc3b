/**
 * The candidate table: every candidate of the search, sortable by any
 * column, filterable by status and rejection reason, virtualized so 10,000
 * rows cost the same as 30. Rows link to the candidate view; a box on each
 * row selects it for the side-by-side comparison; the user picks the columns.
 */

import { useEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import type { CandidateSummary } from "../api/types";
import type { ProgressInfo, SearchState } from "./store";
import { ALWAYS_SHOWN, allColumns, gridTemplate, loadHidden, saveHidden, visibleColumns, type ColumnKey } from "./tableColumns";

type SortKey = Exclude<ColumnKey, "formula">;

interface Props {
  state: SearchState;
  version: number;
  architectures: string[];
  onOpen: (id: number) => void;
  /** Candidates picked for comparison, and how to pick or drop one. */
  selected?: ReadonlySet<number>;
  onToggleSelect?: (id: number) => void;
  onCompare?: () => void;
  onClearSelection?: () => void;
}

function storage(): Storage | undefined {
  try {
    return window.localStorage;
  } catch {
    return undefined;
  }
}

const ROW_HEIGHT = 32;

function score(v: number | null | undefined): string {
  return typeof v === "number" ? `${(v * 100).toFixed(1)}%` : "—";
}

function sortValue(c: CandidateSummary, key: SortKey): number | string {
  if (key.startsWith("arch:")) return c.scores[key.slice(5)] ?? -1;
  switch (key) {
    case "mean_score":
      return c.mean_score ?? -1;
    case "parent_id":
      return c.parent_id ?? -1;
    case "worker":
      return c.worker ?? "";
    default:
      return (c[key as keyof CandidateSummary] as string | number) ?? "";
  }
}

function ProgressCell({ p }: { p: ProgressInfo | undefined }) {
  if (!p) return null;
  const frac = p.total > 0 ? Math.min(1, p.step / p.total) : 0;
  const label = p.arch ? `${p.arch} ${p.stage}` : p.stage;
  return (
    <span
      className="cand-progress"
      role="progressbar"
      aria-label={`${label} progress`}
      aria-valuemin={0}
      aria-valuemax={p.total}
      aria-valuenow={p.step}
    >
      <span className="cand-progress-bar" style={{ width: `${Math.round(frac * 100)}%` }} />
      <span className="cand-progress-text">
        {label} {p.step}/{p.total}
        {typeof p.accuracy === "number" ? ` · acc ${(p.accuracy * 100).toFixed(1)}%` : ""}
      </span>
    </span>
  );
}

export function CandidateTable({
  state,
  version,
  architectures,
  onOpen,
  selected = new Set<number>(),
  onToggleSelect,
  onCompare,
  onClearSelection,
}: Props) {
  const [hidden, setHidden] = useState<Set<string>>(() => loadHidden(storage()));
  useEffect(() => saveHidden(storage(), hidden), [hidden]);
  const [sortKey, setSortKey] = useState<SortKey>("id");
  const [desc, setDesc] = useState(true);
  const [status, setStatus] = useState("");
  const [reason, setReason] = useState("");
  const scroller = useRef<HTMLDivElement | null>(null);

  // The state is mutated in place; `version` moves with every change, so the memos read it.
  const reasons = useMemo(() => {
    void version;
    const set = new Set<string>();
    for (const c of state.candidates.values()) if (c.rejection_reason) set.add(c.rejection_reason);
    return [...set].sort();
  }, [version, state]);

  const rows = useMemo(() => {
    void version;
    const out: CandidateSummary[] = [];
    for (const id of state.order) {
      const c = state.candidates.get(id);
      if (!c) continue;
      if (status && c.status !== status) continue;
      if (reason && c.rejection_reason !== reason) continue;
      out.push(c);
    }
    const dir = desc ? -1 : 1;
    // ids grow with creation, so `order` is already sorted by id
    if (sortKey === "id") return desc ? out.reverse() : out;
    out.sort((a, b) => {
      const va = sortValue(a, sortKey);
      const vb = sortValue(b, sortKey);
      if (va < vb) return -dir;
      if (va > vb) return dir;
      return b.id - a.id;
    });
    return out;
  }, [version, state, status, reason, sortKey, desc]);

  // TanStack Virtual hands back fresh functions each render, which the React Compiler
  // cannot memoize; this app is not compiled with it, so the warning has no effect here.
  // eslint-disable-next-line react-hooks/incompatible-library
  const virtualizer = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_HEIGHT,
    overscan: 12,
  });

  const columns = visibleColumns(architectures, hidden);
  const template = gridTemplate(columns);
  const toggleColumn = (key: string) =>
    setHidden((h) => {
      const next = new Set(h);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });

  const toggleSort = (key: SortKey) => {
    if (key === sortKey) setDesc(!desc);
    else {
      setSortKey(key);
      setDesc(key !== "id" && key !== "status" && key !== "mutation" && key !== "worker" ? true : false);
    }
  };

  return (
    <section className="card candidates" aria-labelledby="cand-title">
      <div className="card-head">
        <h2 id="cand-title">Candidates</h2>
        <div className="cand-filters">
          <label>
            Status{" "}
            <select aria-label="Filter by status" value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">all</option>
              {["queued", "running", "evaluated", "rejected", "failed", "lost", "cancelled"].map((s) => (
                <option key={s} value={s}>
                  {s} ({state.counts[s] ?? 0})
                </option>
              ))}
            </select>
          </label>
          <label>
            Reason{" "}
            <select aria-label="Filter by rejection reason" value={reason} onChange={(e) => setReason(e.target.value)}>
              <option value="">any</option>
              {reasons.map((r) => (
                <option key={r} value={r}>
                  {r}
                </option>
              ))}
            </select>
          </label>
          <span className="muted small" aria-live="polite" data-testid="row-count">
            {rows.length} shown
          </span>
          <details className="col-chooser">
            <summary>Columns</summary>
            <div className="col-chooser-list" role="group" aria-label="Columns shown">
              {allColumns(architectures)
                .filter((c) => !ALWAYS_SHOWN.has(c.key))
                .map((c) => (
                  <label key={c.key}>
                    <input type="checkbox" checked={!hidden.has(c.key)} onChange={() => toggleColumn(c.key)} /> {c.label}
                  </label>
                ))}
            </div>
          </details>
          {onCompare ? (
            <>
              <button type="button" className="btn" onClick={onCompare} disabled={selected.size < 2}>
                Compare selected ({selected.size})
              </button>
              {selected.size > 0 && onClearSelection ? (
                <button type="button" className="btn" onClick={onClearSelection}>
                  Clear selection
                </button>
              ) : null}
            </>
          ) : null}
        </div>
      </div>
      <div className="cand-table" role="table" aria-label="Candidates" aria-rowcount={rows.length + 1}>
        <div role="rowgroup">
          <div className="cand-row cand-header" role="row" style={{ gridTemplateColumns: template }}>
            <span role="columnheader" aria-label="Select" />
            {columns.map((col) => (
              <span
                key={col.key}
                role="columnheader"
                className={col.num ? "num" : undefined}
                aria-sort={col.sortable ? (sortKey === col.key ? (desc ? "descending" : "ascending") : "none") : undefined}
              >
                {col.sortable ? (
                  <button type="button" className="sort-button" onClick={() => toggleSort(col.key as SortKey)}>
                    {col.label}
                    {sortKey === col.key ? (desc ? " ▼" : " ▲") : ""}
                  </button>
                ) : (
                  col.label
                )}
              </span>
            ))}
          </div>
        </div>
        <div ref={scroller} className="cand-scroll" tabIndex={0} role="rowgroup" aria-label="Candidate rows">
          <div style={{ height: virtualizer.getTotalSize(), position: "relative" }}>
            {virtualizer.getVirtualItems().map((item) => {
              const c = rows[item.index];
              return (
                <div
                  key={c.id}
                  role="row"
                  aria-rowindex={item.index + 2}
                  className={`cand-row status-${c.status}${state.population.has(c.id) ? " in-population" : ""}`}
                  data-candidate-id={c.id}
                  style={{
                    gridTemplateColumns: template,
                    position: "absolute",
                    top: 0,
                    left: 0,
                    right: 0,
                    height: ROW_HEIGHT,
                    transform: `translateY(${item.start}px)`,
                  }}
                >
                  <span role="cell" className="cand-select">
                    {onToggleSelect ? (
                      <input
                        type="checkbox"
                        aria-label={`Select candidate ${c.id}`}
                        checked={selected.has(c.id)}
                        onChange={() => onToggleSelect(c.id)}
                      />
                    ) : null}
                  </span>
                  {columns.map((col) => (
                    <Cell key={col.key} col={col.key} c={c} progress={state.progress.get(c.id)} onOpen={onOpen} />
                  ))}
                </div>
              );
            })}
          </div>
        </div>
      </div>
    </section>
  );
}

function Cell({
  col,
  c,
  progress,
  onOpen,
}: {
  col: ColumnKey;
  c: CandidateSummary;
  progress: ProgressInfo | undefined;
  onOpen: (id: number) => void;
}) {
  if (col.startsWith("arch:"))
    return (
      <span role="cell" className="num">
        {score(c.scores[col.slice(5)])}
      </span>
    );
  switch (col) {
    case "id":
      return (
        <span role="cell">
          <a
            href={`/candidates/${c.id}/`}
            onClick={(e) => {
              if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
              e.preventDefault();
              onOpen(c.id);
            }}
          >
            {c.id}
          </a>
        </span>
      );
    case "status":
      return (
        <span role="cell">
          <span className={`badge badge-${c.status}`}>{c.status}</span>
          {c.rejection_reason ? <span className="muted small"> {c.rejection_reason}</span> : null}
        </span>
      );
    case "mean_score":
      return (
        <span role="cell" className="num">
          {score(c.mean_score)}
        </span>
      );
    case "mutation":
      return <span role="cell">{c.mutation}</span>;
    case "parent_id":
      return <span role="cell">{c.parent_id ?? "—"}</span>;
    case "worker":
      return (
        <span role="cell" className="ellipsis" title={c.worker ?? ""}>
          {c.worker ?? "—"}
        </span>
      );
    default:
      return (
        <span role="cell" className="ellipsis formula" title={c.formula}>
          {c.status === "running" ? <ProgressCell p={progress} /> : null}
          {c.status !== "running" || !progress ? c.formula : null}
        </span>
      );
  }
}
