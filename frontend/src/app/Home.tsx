/** The start page: where to go next, and the reference layers to start from. */
import { Link } from "react-router";
import { useLayers, useReferenceLayers } from "../api/queries";
import { ErrorNote, ModeBadge } from "./ui";

export function Home() {
  const refsQuery = useReferenceLayers();
  const layersQuery = useLayers({ page_size: 5 });
  const refs = refsQuery.data;
  const layers = layersQuery.data?.items;
  const error = refsQuery.error ?? layersQuery.error;
  return (
    <div className="home">
      <h1>Design, evolve and export normalization-activation layers</h1>
      <div className="home-actions">
        <Link className="btn btn-primary" to="/editor/">
          New layer on a blank canvas
        </Link>
        <Link className="btn" to="/searches/new/">
          Launch a search
        </Link>
        <Link className="btn" to="/layers/">
          My layers
        </Link>
      </div>
      <ErrorNote error={error} />
      <section aria-labelledby="refs-h">
        <h2 id="refs-h">Start from a reference layer</h2>
        {!refs && !error && <p className="muted">Loading…</p>}
        <ul className="card-grid">
          {refs?.map((r) => (
            <li key={r.slug} className="card">
              <div className="card-title">
                <Link to={`/editor/?ref=${encodeURIComponent(r.slug)}`} aria-label={`Open ${r.name} in the editor`}>
                  {r.name}
                </Link>
                <ModeBadge mode={r.mode} />
              </div>
              <code className="formula">{r.formula}</code>
            </li>
          ))}
        </ul>
      </section>
      {layers && layers.length > 0 && (
        <section aria-labelledby="recent-h">
          <h2 id="recent-h">Recently edited</h2>
          <ul className="plain-list">
            {layers.map((l) => (
              <li key={l.id}>
                <Link to={`/editor/${l.id}/`}>{l.name}</Link> <span className="muted">v{l.version}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
