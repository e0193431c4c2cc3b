/**
 * The search's funnel as narrowing bars: drawn → passed the static checks →
 * sent to the stability test → stable, reached training (what the budget
 * counts) → evaluated, with what left at each step. Redrawn live from
 * `search.funnel` events.
 */

import { barPercent, funnelStages, type Funnel } from "./funnel";

interface Props {
  funnel: Funnel | null;
  budget: number;
  /** The search has ended (stopped, failed or finished). */
  ended?: boolean;
}

export function FunnelChart({ funnel, budget, ended = false }: Props) {
  const stages = funnel ? funnelStages(funnel, ended) : [];
  const max = stages[0]?.count ?? 0;
  return (
    <section className="card funnel" aria-labelledby="funnel-title">
      <div className="card-head">
        <h2 id="funnel-title">Funnel</h2>
        <span className="muted small">free checks and unstable layers cost no budget</span>
      </div>
      {!funnel ? (
        <p className="muted">This search kept no funnel (it is older than the funnel).</p>
      ) : (
        <ol className="funnel-list" aria-label="Funnel">
          {stages.map((s) => (
            <li key={s.key} className="funnel-stage" data-stage={s.key}>
              <div className="funnel-losses">
                {s.losses.map((l) => (
                  <span key={l.key} className={`funnel-loss loss-${l.key}`}>
                    {l.key === "in_flight" && !ended ? `${l.count} ${l.label}` : `−${l.count} ${l.label}`}
                  </span>
                ))}
              </div>
              <div className="funnel-row">
                <span className="funnel-label">
                  {s.label}
                  {s.budget ? <span className="muted small"> (budget {s.count} / {budget})</span> : null}
                </span>
                <span className="funnel-track" aria-hidden="true">
                  <span className={`funnel-bar bar-${s.key}`} style={{ width: `${barPercent(s.count, max)}%` }} />
                </span>
                <span className="funnel-count" data-testid={`funnel-${s.key}`}>
                  {s.count}
                </span>
              </div>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
