// One candidate (/candidates/<id>/): its graph drawn read-only, formula,
// scores and training curves per architecture, lineage back to the root,
// downloads, and "open in editor" to refine it by hand.

import { useEffect, useState } from "react";
import { Link, useNavigate, useParams } from "react-router";
import {
  candidateBundleUrl,
  candidateExportUrl,
  errorMessage,
  searchesApi,
  type CandidateDetail,
} from "../api/searches";
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
  const [cand, setCand] = useState<CandidateDetail | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!Number.isInteger(id) || id <= 0) return;
    let alive = true;
    setCand(null);
    setError(null);
    const load = () =>
      searchesApi.candidate(id).then(
        (c) => {
          if (!alive) return;
          setCand(c);
          if (c.status === "queued" || c.status === "running") timer = setTimeout(load, 3000);
        },
        (e) => alive && setError(errorMessage(e)),
      );
    let timer: ReturnType<typeof setTimeout> | undefined;
    void load();
    return () => {
      alive = false;
      if (timer) clearTimeout(timer);
    };
  }, [id]);

  if (error)
    return (
      <div className="lab-page searches">
        <p role="alert" className="lab-error">
          {error}
        </p>
      </div>
    );
  if (!cand)
    return (
      <div className="lab-page searches">
        <p aria-busy="true">Loading candidate…</p>
      </div>
    );

  const archs = Object.keys({ ...cand.scores, ...cand.curves });
  return (
    <div className="lab-page searches candidate">
      <header className="monitor-head">
        <div>
          <p className="lab-muted small">
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
          {cand.rejection_reason ? <span className="lab-muted">{cand.rejection_reason}</span> : null}
          <span className="lab-muted small">mode {cand.mode}</span>
        </div>
      </header>

      <div className="controls" role="group" aria-label="Candidate actions">
        <a className="btn button-link" href={candidateExportUrl(cand.id)} download data-testid="download-py">
          Download layer.py
        </a>
        <a className="btn button-link" href={candidateBundleUrl(cand.id)} download>
          Download bundle.zip
        </a>
        <button type="button" className="btn btn-primary" onClick={() => navigate(openInEditor(cand))}>
          Open in editor
        </button>
      </div>

      <UseInModel />

      <div className="candidate-grid">
        <section className="lab-panel" aria-labelledby="graph-title">
          <h2 id="graph-title">Graph</h2>
          <CandidateGraph document={cand.document} />
        </section>
        <section className="lab-panel" aria-labelledby="scores-title">
          <h2 id="scores-title">Scores</h2>
          <table className="lab-table compact">
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
          {cand.message ? <p className="lab-muted small">{cand.message}</p> : null}
        </section>
      </div>

      <section className="lab-panel" aria-labelledby="curves-title">
        <h2 id="curves-title">Training curves</h2>
        <CurvesChart curves={cand.curves ?? {}} />
      </section>

      <section className="lab-panel" aria-labelledby="lineage-title">
        <h2 id="lineage-title">Lineage</h2>
        {cand.lineage.length === 0 ? (
          <p className="lab-muted">No ancestors: this candidate was {cand.mutation === "seed" ? "a seed" : "random"}.</p>
        ) : (
          <ol className="lineage" aria-label="Ancestors, parent first">
            {cand.lineage.map((a) => (
              <li key={a.id}>
                <Link to={`/candidates/${a.id}/`}>#{a.id}</Link>{" "}
                <span className={`badge badge-${a.status}`}>{a.status}</span> <span className="lab-muted">{a.mutation}</span>{" "}
                {pct(a.mean_score)} <code className="ellipsis">{a.formula}</code>
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
