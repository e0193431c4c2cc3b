/**
 * Candidates side by side (/searches/<id>/compare/?ids=3,1,7): scores in one
 * table with the best of each row marked, every training curve overlaid on
 * one chart, and each candidate's formula and graph in a column of its own.
 */

import { useMemo } from "react";
import { Link, useParams, useSearchParams } from "react-router";
import { useCandidates } from "../api/queries";
import type { CandidateDetail } from "../api/types";
import { ErrorNote } from "../app/ui";
import { CandidateGraph } from "./CandidateGraph";
import { useChart, type ChartOption } from "./charts";
import { COMPARE_COLORS, compareCurveSeries, parseCompareIds, scoreRows } from "./compare";
import "./searches.css";

function pct(v: number | null): string {
  return v === null ? "—" : `${(v * 100).toFixed(2)}%`;
}

export function ComparePage() {
  const { searchId } = useParams();
  const [params] = useSearchParams();
  const ids = useMemo(() => parseCompareIds(params.get("ids")), [params]);
  const { data: cands, error } = useCandidates(ids);

  const back = (
    <p className="muted small">
      <Link to="/searches/">Searches</Link> / <Link to={`/searches/${searchId}/`}>#{searchId}</Link> / compare
    </p>
  );
  if (ids.length < 1)
    return (
      <div className="searches">
        {back}
        <ErrorNote>Nothing to compare: select candidates in the search's table first.</ErrorNote>
      </div>
    );
  if (error)
    return (
      <div className="searches">
        {back}
        <ErrorNote error={error} />
      </div>
    );
  if (!cands)
    return (
      <div className="searches">
        <p aria-busy="true">Loading candidates…</p>
      </div>
    );

  const rows = scoreRows(cands);
  return (
    <div className="searches compare">
      <header>
        {back}
        <h1>Compare {cands.length} candidates</h1>
      </header>

      <section className="card" aria-labelledby="cmp-scores-title">
        <h2 id="cmp-scores-title">Scores</h2>
        <div className="compare-scroll">
          <table className="data-table compact compare-scores" aria-labelledby="cmp-scores-title">
            <thead>
              <tr>
                <th scope="col">architecture</th>
                {cands.map((c, i) => (
                  <th scope="col" key={c.id} className="num">
                    <span className="swatch" data-color={i % COMPARE_COLORS.length} aria-hidden="true" />
                    <Link to={`/candidates/${c.id}/`}>#{c.id}</Link>{" "}
                    <span className={`badge badge-${c.status}`}>{c.status}</span>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.label}>
                  <th scope="row">{r.label}</th>
                  {r.values.map((v, i) => (
                    <td key={cands[i].id} className={`num${r.best === i ? " best" : ""}`}>
                      {pct(v)}
                      {r.best === i ? <span className="sr-only"> (best)</span> : null}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        <p className="muted small">Bold: the best of the row. Scores are validation accuracy on the proxy task.</p>
      </section>

      <section className="card" aria-labelledby="cmp-curves-title">
        <h2 id="cmp-curves-title">Training curves</h2>
        <OverlaidCurves cands={cands} />
      </section>

      <section aria-label="Formulas and graphs" className="compare-columns">
        {cands.map((c, i) => (
          <article key={c.id} className="card compare-card" aria-labelledby={`cmp-${c.id}`}>
            <h2 id={`cmp-${c.id}`}>
              <span className="swatch" data-color={i % COMPARE_COLORS.length} aria-hidden="true" />
              <Link to={`/candidates/${c.id}/`}>Candidate #{c.id}</Link>
            </h2>
            <p className="muted small">
              {c.status}
              {c.rejection_reason ? ` (${c.rejection_reason})` : ""} · {c.mutation}
              {c.parent_id ? ` of #${c.parent_id}` : ""} · mode {c.mode}
            </p>
            <p className="formula" aria-label={`Formula of candidate ${c.id}`}>
              <code>{c.formula}</code>
            </p>
            <CandidateGraph document={c.document} height={260} label={`Graph of candidate ${c.id} (read-only)`} />
          </article>
        ))}
      </section>
    </div>
  );
}

function OverlaidCurves({ cands }: { cands: CandidateDetail[] }) {
  const series = useMemo(() => compareCurveSeries(cands), [cands]);
  const option = useMemo<ChartOption>(
    () => ({
      animation: false,
      grid: { left: 52, right: 24, top: 48, bottom: 36 },
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: "axis" },
      xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 24 },
      // up to just above the best accuracy: proxy-task curves often stay far below 1
      yAxis: {
        type: "value",
        name: "accuracy",
        min: 0,
        max: (v: { max: number }) => Math.min(1, Math.ceil((v.max + 0.02) * 10) / 10),
      },
      series: series.map((s) => ({
        name: s.name,
        type: "line",
        showSymbol: false,
        lineStyle: { color: s.color, type: s.dash, width: 2 },
        itemStyle: { color: s.color },
        data: s.data,
      })),
    }),
    [series],
  );
  const ref = useChart(option);
  return (
    <>
      {series.length === 0 ? <p className="muted">None of these candidates recorded a training curve.</p> : null}
      <div
        ref={ref}
        className={`chart${series.length === 0 ? " is-empty" : ""}`}
        role="img"
        aria-label={`Validation accuracy against step: ${series.map((s) => s.name).join(", ")}`}
        data-series={series.length}
      />
      <p className="muted small">A colour per candidate; solid, dashed and dotted lines for the architectures.</p>
    </>
  );
}
