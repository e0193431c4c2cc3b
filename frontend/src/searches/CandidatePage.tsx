/**
 * One candidate (/candidates/<id>/): its graph drawn read-only, formula,
 * scores and training curves per architecture, lineage back to the root,
 * downloads, and "open in editor" to refine it by hand.
 */

import { Link, useNavigate, useParams } from "react-router";
import { api } from "../api/client";
import { useCandidate } from "../api/queries";
import { ErrorNote } from "../app/ui";
import { CandidateGraph } from "./CandidateGraph";
import { CurvesChart } from "./CurvesChart";
import { openInEditor } from "./openInEditor";
import { UseInModel } from "./UseInModel";
import "./searches.css";

function pct(v: number | null | undefined): string {
  return typeof v === "number" ? `${(v * 100).toFixed(2)}%` : "—";
}

export function CandidatePage() {
  const params = useParams();
  const id = Number(params.candidateId);
  const navigate = useNavigate();
  const { data: cand, error } = useCandidate(id, Number.isInteger(id) && id > 0); // polled while queued or running

  if (error)
    return (
      <div className="searches">
        <ErrorNote error={error} />
      </div>
    );
  if (!cand)
    return (
      <div className="searches">
        <p aria-busy="true">Loading candidate…</p>
      </div>
    );

  const archs = Object.keys({ ...cand.scores, ...cand.curves });
  return (
    <div className="searches candidate">
      <header className="monitor-head">
        <div>
          <p className="muted small">
            <Link to="/searches/">Searches</Link> / <Link to={`/searches/${cand.search_id}/`}>#{cand.search_id}</Link> /
            candidate
          </p>
          <h1>Candidate #{cand.id}</h1>
          <p className="formula" aria-label="Formula">
            <code>{cand.formula}</code>
          </p>
        </div>
        <div className="monitor-status">
          <span className={`badge badge-${cand.status}`}>{cand.status}</span>
          {cand.rejection_reason ? <span className="muted">{cand.rejection_reason}</span> : null}
          <span className="muted small">mode {cand.mode}</span>
        </div>
      </header>

      <div className="controls" role="group" aria-label="Candidate actions">
        <a className="btn" href={api.candidateExportUrl(cand.id)} download data-testid="download-py">
          Download layer.py
        </a>
        <a className="btn" href={api.candidateBundleUrl(cand.id)} download>
          Download bundle.zip
        </a>
        <button type="button" className="btn btn-primary" onClick={() => navigate(openInEditor(cand))}>
          Open in editor
        </button>
      </div>

      <UseInModel />

      <div className="candidate-grid">
        <section className="card" aria-labelledby="graph-title">
          <h2 id="graph-title">Graph</h2>
          <CandidateGraph document={cand.document} />
        </section>
        <section className="card" aria-labelledby="scores-title">
          <h2 id="scores-title">Scores</h2>
          <table className="data-table compact">
            <tbody>
              {archs.map((a) => (
                <tr key={a}>
                  <th scope="row">{a}</th>
                  <td className="num">{pct(cand.scores[a])}</td>
                </tr>
              ))}
              <tr>
                <th scope="row">mean</th>
                <td className="num">{pct(cand.mean_score)}</td>
              </tr>
            </tbody>
          </table>
          <dl className="facts">
            <dt>Mutation</dt>
            <dd>{cand.mutation}</dd>
            <dt>Attempts</dt>
            <dd>{cand.attempts}</dd>
            <dt>Worker</dt>
            <dd>{cand.worker ?? "—"}</dd>
            <dt>Hash</dt>
            <dd className="ellipsis" title={cand.canonical_hash}>
              <code>{cand.canonical_hash.slice(0, 16)}…</code>
            </dd>
            {Object.entries(cand.timings ?? {}).map(([k, v]) => (
              <div key={k} className="fact-pair">
                <dt>time {k}</dt>
                <dd>{typeof v === "number" ? `${v.toFixed(1)} s` : String(v)}</dd>
              </div>
            ))}
          </dl>
          {cand.message ? <p className="muted small">{cand.message}</p> : null}
        </section>
      </div>

      <section className="card" aria-labelledby="curves-title">
        <h2 id="curves-title">Training curves</h2>
        <CurvesChart curves={cand.curves ?? {}} />
      </section>

      <section className="card" aria-labelledby="lineage-title">
        <h2 id="lineage-title">Lineage</h2>
        {cand.lineage.length === 0 ? (
          <p className="muted">No ancestors: this candidate was {cand.mutation === "seed" ? "a seed" : "random"}.</p>
        ) : (
          <ol className="lineage" aria-label="Ancestors, parent first">
            {cand.lineage.map((a) => (
              <li key={a.id}>
                <Link to={`/candidates/${a.id}/`}>#{a.id}</Link>{" "}
                <span className={`badge badge-${a.status}`}>{a.status}</span> <span className="muted">{a.mutation}</span>{" "}
                {pct(a.mean_score)} <code className="ellipsis">{a.formula}</code>
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
