/**
 * The signed-in user's searches (/searches/), newest first, with status,
 * progress against the budget and the best layer so far.
 */

import { useState } from "react";
import { Link } from "react-router";
import { useSearches } from "../api/queries";
import type { SearchSummary } from "../api/types";
import { ErrorNote } from "../app/ui";
import { FINISHED_STATUSES } from "./eta";
import { searchStatusText } from "./status";
import "./searches.css";

const PAGE_SIZE = 25;

/** Budget slots spent: the server's count (unstable candidates spend none), else all finished. */
function finished(s: SearchSummary): number {
  if (typeof s.budget_spent === "number") return s.budget_spent;
  let n = 0;
  for (const k of FINISHED_STATUSES) n += s.counts?.[k] ?? 0;
  return n;
}

export function SearchesListPage() {
  const [page, setPage] = useState(1);
  const { data, error } = useSearches({ page, page_size: PAGE_SIZE }); // polled: statuses move while the list is open

  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;
  return (
    <div className="searches">
      <div className="page-head">
        <h1>Searches</h1>
        <Link className="btn btn-primary" to="/searches/new/">
          New search
        </Link>
      </div>
      <ErrorNote error={error} />
      {!data ? (
        <p aria-busy="true">Loading…</p>
      ) : data.items.length === 0 ? (
        <p className="muted">
          No searches yet. <Link to="/searches/new/">Launch one</Link> from a preset.
        </p>
      ) : (
        <table className="data-table" aria-label="Your searches">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Preset</th>
              <th scope="col">Mode</th>
              <th scope="col">Progress</th>
              <th scope="col">Best</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((s) => {
              const f = finished(s);
              return (
                <tr key={s.id} data-search-id={s.id}>
                  <td>
                    <Link to={`/searches/${s.id}/`}>{s.name || `Search ${s.id}`}</Link>
                  </td>
                  <td>
                    <span className={`badge badge-${s.status}`}>{searchStatusText(s.status, s.stage, s.reason).label}</span>{" "}
                    <span className="muted small">{searchStatusText(s.status, s.stage, s.reason).detail}</span>
                  </td>
                  <td>
                    {s.preset}
                    {s.strategy === "random" ? <span className="muted small"> · random search</span> : null}
                  </td>
                  <td>{s.mode}</td>
                  <td>
                    <span
                      className="progress small-progress"
                      role="progressbar"
                      aria-label={`${s.name} progress`}
                      aria-valuemin={0}
                      aria-valuemax={s.budget}
                      aria-valuenow={f}
                    >
                      <span
                        className="progress-bar"
                        style={{ width: `${s.budget ? Math.min(100, (100 * f) / s.budget) : 0}%` }}
                      />
                    </span>{" "}
                    {f} / {s.budget}
                  </td>
                  <td>
                    {s.best ? (
                      <Link to={`/candidates/${s.best.id}/`} title={s.best.formula}>
                        #{s.best.id}
                        {typeof s.best.mean_score === "number" ? ` ${(s.best.mean_score * 100).toFixed(1)}%` : ""}
                      </Link>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td>{new Date(s.created_at).toLocaleString()}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {pages > 1 ? (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="btn" disabled={page <= 1} onClick={() => setPage(page - 1)}>
            Previous
          </button>
          <span>
            Page {page} of {pages}
          </span>
          <button type="button" className="btn" disabled={page >= pages} onClick={() => setPage(page + 1)}>
            Next
          </button>
        </nav>
      ) : null}
    </div>
  );
}
