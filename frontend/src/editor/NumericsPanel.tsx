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

const fmt = (v: unknown) =>
  v === null || v === undefined ? "—" : typeof v === "number" ? (Math.abs(v) >= 1e4 || (v !== 0 && Math.abs(v) < 1e-3) ? v.toExponential(2) : v.toFixed(3)) : String(v);

export function NumericsPanel({ probe, error, running }: { probe: NumericProbe | null; error: string | null; running: boolean }) {
  if (!probe && !error && !running) return null;
  const checks: Check[] = Array.isArray(probe?.checks) ? (probe!.checks as Check[]) : [];
  return (
    <section className="panel" aria-labelledby="num-h" data-testid="numerics">
      <h2 id="num-h" className="panel-title">
        Numerics
      </h2>
      {running && <p className="muted">Running forward and backward passes…</p>}
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
                    <th scope="col">scale</th>
                    <th scope="col">mode</th>
                    <th scope="col">finite</th>
                    <th scope="col">mean</th>
                    <th scope="col">std</th>
                    <th scope="col">min</th>
                    <th scope="col">max</th>
                    <th scope="col">grad</th>
                  </tr>
                </thead>
                <tbody>
                  {checks.map((c, k) => (
                    <tr key={k} className={c.finite === false || c.grad_finite === false ? "row-bad" : undefined}>
                      <td>{fmt(c.scale)}</td>
                      <td>{c.mode}</td>
                      <td>{c.finite ? "yes" : "no"}</td>
                      <td>{fmt(c.mean)}</td>
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
