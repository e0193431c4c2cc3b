/** `/layers/`: the signed-in user's saved layers, newest first, with open, download and delete. */
import { useState } from "react";
import { Link } from "react-router";
import { api } from "../api/client";
import { useDeleteLayer, useLayers } from "../api/queries";
import { ErrorNote, formatDate, ModeBadge } from "../app/ui";

const PAGE_SIZE = 25;

export function LayersPage() {
  const [page, setPage] = useState(1);
  const [confirming, setConfirming] = useState<number | null>(null);
  const list = useLayers({ page, page_size: PAGE_SIZE });
  const deletion = useDeleteLayer();
  const data = list.data;
  const error = deletion.error ?? list.error;

  const remove = (id: number) => deletion.mutate(id, { onSuccess: () => setConfirming(null) });

  const pages = data ? Math.max(1, Math.ceil(data.count / PAGE_SIZE)) : 1;
  return (
    <div className="layers-page">
      <div className="page-head">
        <h1>My layers</h1>
        <Link className="btn btn-primary" to="/editor/">
          New layer
        </Link>
      </div>
      <ErrorNote error={error} />
      {!data && !error && <p className="muted">Loading…</p>}
      {data && data.count === 0 && (
        <p className="empty">
          No layers yet. <Link to="/editor/">Draw one</Link> or start from a reference layer on the <Link to="/">home page</Link>.
        </p>
      )}
      {data && data.count > 0 && (
        <table className="data-table" aria-label="My layers">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Mode</th>
              <th scope="col">Formula</th>
              <th scope="col">Version</th>
              <th scope="col">Updated</th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data.items.map((l) => (
              <tr key={l.id} data-testid={`layer-row-${l.id}`}>
                <td>
                  <Link to={`/editor/${l.id}/`} aria-label={`Open ${l.name} in the editor`}>
                    {l.name}
                  </Link>
                </td>
                <td>
                  <ModeBadge mode={l.mode} />
                </td>
                <td className="formula-cell">
                  <code className="formula" title={l.formula}>
                    {l.formula}
                  </code>
                </td>
                <td>v{l.version}</td>
                <td>{formatDate(l.updated_at)}</td>
                <td>
                  <div className="actions">
                  <a className="btn btn-small" href={api.layerExportUrl(l.id)} download aria-label={`Download ${l.name} as .py`}>
                    .py
                  </a>
                  {confirming === l.id ? (
                    <>
                      <button type="button" className="btn btn-small btn-danger" onClick={() => remove(l.id)} aria-label={`Confirm deleting ${l.name}`}>
                        Confirm delete
                      </button>
                      <button type="button" className="btn btn-small" onClick={() => setConfirming(null)} aria-label="Keep it">
                        Keep
                      </button>
                    </>
                  ) : (
                    <button type="button" className="btn btn-small" onClick={() => setConfirming(l.id)} aria-label={`Delete ${l.name}`}>
                      Delete
                    </button>
                  )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {data && pages > 1 && (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="btn btn-small" disabled={page <= 1} onClick={() => setPage(page - 1)} aria-label="Previous page">
            ‹ Previous
          </button>
          <span>
            Page {page} of {pages}
          </span>
          <button type="button" className="btn btn-small" disabled={page >= pages} onClick={() => setPage(page + 1)} aria-label="Next page">
            Next ›
          </button>
        </nav>
      )}
    </div>
  );
}
