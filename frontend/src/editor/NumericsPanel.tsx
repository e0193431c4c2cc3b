/** Shows the server's numeric probe: forward and backward on random input at several scales. */
import type { NumericProbe } from "../api/types";

type Check = {
  scale?: number;
  mode?: string;
  finite?: boolean;
  mean?: number | null;
  std?: number | null;
  min?: number | null;
  max?: number | null;
  grad_finite?: boolean;
  grad_norm?: number | null;
};

const fmt = (v: unknown) => {
  if (v === null || v === undefined) return "—";
  if (typeof v !== "number") return String(v);
  if (v === 0) return "0";
  const a = Math.abs(v);
  return a >= 1e4 || a < 1e-2 ? v.toExponential(1) : v.toPrecision(3);
};

export function NumericsPanel({ probe, error, running }: { probe: NumericProbe | null; error: string | null; running: boolean }) {
  if (!probe && !error && !running) return null;
  const checks: Check[] = Array.isArray(probe?.checks) ? (probe!.checks as Check[]) : [];
  return (
    <section className="panel" aria-labelledby="num-h" data-testid="numerics">
      <h2 id="num-h" className="panel-title">
        Numerics
      </h2>
      <p className="muted small">The server runs the layer forward and backward on random input at three scales, in training and evaluation mode.</p>
      {running && <p className="muted">Running…</p>}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
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
          {checks.length > 0 ? (
            <div className="table-scroll">
              <table className="data-table compact">
                <caption className="sr-only">Output statistics per input scale and mode</caption>
                <thead>
                  <tr>
                    <th scope="col">input</th>
                    <th scope="col">mean</th>
                    <th scope="col">std</th>
                    <th scope="col">min</th>
                    <th scope="col">max</th>
                    <th scope="col" title="norm of the gradients">grad</th>
                  </tr>
                </thead>
                <tbody>
                  {checks.map((c, k) => (
                    <tr key={k} className={c.finite === false || c.grad_finite === false ? "row-bad" : undefined}>
                      <td title={`input scale ${c.scale}, ${c.mode === "train" ? "training" : "evaluation"} mode`}>
                        {fmt(c.scale)} {c.mode}
                      </td>
                      <td>{c.finite === false ? "non-finite" : fmt(c.mean)}</td>
                      <td>{fmt(c.std)}</td>
                      <td>{fmt(c.min)}</td>
                      <td>{fmt(c.max)}</td>
                      <td title={`gradient norm ${fmt(c.grad_norm)}`}>{c.grad_finite ? fmt(c.grad_norm) : "non-finite"}</td>
                    </tr>
                  ))}
                </tbody>
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
