/**
 * Shows the server's numeric probe: forward and backward on random input at
 * three scales, in training and in evaluation mode. Rows are grouped by input
 * scale; every number has three significant digits (see numerics.ts).
 */
import type { NumericProbe } from "../api/types";
import { ErrorNote } from "../app/ui";
import { formatNumber as fmt, formatScale, groupChecks, MODE_LABEL, type ProbeCheck, type ProbeMode } from "./numerics";

const COLUMNS = ["mean", "std", "min", "max"] as const;

export function NumericsPanel({ probe, error, running }: { probe: NumericProbe | null; error: string | null; running: boolean }) {
  if (!probe && !error && !running) return null;
  const checks: ProbeCheck[] = Array.isArray(probe?.checks) ? (probe!.checks as ProbeCheck[]) : [];
  const groups = groupChecks(checks);
  return (
    <section className="panel" aria-labelledby="num-h" data-testid="numerics">
      <h2 id="num-h" className="panel-title">
        Numerics
      </h2>
      <p className="muted small">
        The server runs the layer forward and backward on random input at three scales, in two modes. <strong>Training mode</strong>: batch_* ops
        use the statistics of the current batch. <strong>Evaluation mode</strong>: they use the running estimates instead. A layer without
        batch_* ops (mode S) gives the same numbers in both: one row says “both”.
      </p>
      {running && <p className="muted">Running…</p>}
      <ErrorNote error={error} />
      {probe && (
        <>
          <p className={probe.ok ? "ok-text" : "bad-text"} role="status">
            {probe.ok ? "OK: finite outputs and gradients at every scale" : `${probe.issues.length} issue(s) found`}
          </p>
          {probe.issues.length > 0 && (
            <ul className="issue-list">
              {probe.issues.map((i, k) => (
                <li key={k}>
                  {typeof i === "string" ? i : (
                    <>
                      <span className="code">{String(i.code ?? "")}</span> {String(i.message ?? JSON.stringify(i))}
                    </>
                  )}
                </li>
              ))}
            </ul>
          )}
          {groups.length > 0 ? (
            <div className="table-scroll">
              <table className="data-table compact numerics-table">
                <caption className="sr-only">Output statistics and gradient norm per input scale, in training and evaluation mode</caption>
                <thead>
                  <tr>
                    <th scope="col">mode</th>
                    {COLUMNS.map((c) => (
                      <th key={c} scope="col" className="num">
                        {c}
                      </th>
                    ))}
                    <th scope="col" className="num" title="norm of the gradients with respect to the input and the parameters">
                      grad norm
                    </th>
                  </tr>
                </thead>
                {groups.map((g) => (
                  <tbody key={String(g.scale)}>
                    <tr className="scale-row">
                      <th scope="rowgroup" colSpan={6}>
                        input × {formatScale(g.scale)}
                      </th>
                    </tr>
                    {(g.sameInBothModes ? g.rows.slice(0, 1) : g.rows).map((c, k) => (
                      <tr key={k} className={c.finite === false || c.grad_finite === false ? "row-bad" : undefined}>
                        <th
                          scope="row"
                          className="mode-cell"
                          title={g.sameInBothModes ? "Training and evaluation mode give the same numbers at this scale" : undefined}
                        >
                          {g.sameInBothModes ? "both" : (MODE_LABEL[c.mode as ProbeMode] ?? c.mode).replace(" mode", "")}
                          <span className="sr-only">{g.sameInBothModes ? " modes" : " mode"}</span>
                        </th>
                        {COLUMNS.map((col) => (
                          <td key={col} className="num">
                            {c.finite === false && col === "mean" ? "non-finite" : fmt(c[col])}
                          </td>
                        ))}
                        <td className="num">{c.grad_finite === false ? "non-finite" : fmt(c.grad_norm)}</td>
                      </tr>
                    ))}
                  </tbody>
                ))}
              </table>
            </div>
          ) : (
            probe.checks && <pre className="small">{JSON.stringify(probe.checks, null, 1)}</pre>
          )}
        </>
      )}
    </section>
  );
}
