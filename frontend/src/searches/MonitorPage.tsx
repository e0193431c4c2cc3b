/**
 * The live monitor of one search (/searches/<id>/): status and connection,
 * progress with time left, throughput and workers, controls, the Pareto
 * scatter, the tournament feed and the candidate table. All of it redraws
 * from one coalesced snapshot, at most every ~150 ms.
 */

import { useEffect, useMemo, useState, useSyncExternalStore } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { useCloneSearch, useControlSearch } from "../api/queries";
import { ErrorNote } from "../app/ui";
import { CandidateTable } from "./CandidateTable";
import { compareUrl, MAX_COMPARED } from "./compare";
import { FunnelChart } from "./FunnelChart";
import { budgetSpent } from "./funnel";
import { etaSeconds, formatDuration, throughputPerMinute } from "./eta";
import { MonitorStore } from "./monitorStore";
import { ParetoChart } from "./ParetoChart";
import { activeWorkers, bestCandidate, finishedCount } from "./store";
import { searchStatusText } from "./status";
import { TournamentFeed } from "./TournamentFeed";
import type { ConnectionState } from "./stream";
import "./searches.css";

const CONNECTION_LABEL: Record<ConnectionState, string> = {
  connecting: "Connecting…",
  connected: "Live",
  reconnecting: "Reconnecting…",
  closed: "Closed",
  failed: "Disconnected",
};

/** The time now, moved on every `ms`: render reads the clock from state, never Date.now. */
function useNow(ms: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function MonitorPage() {
  const params = useParams();
  const id = Number(params.searchId);
  if (!Number.isInteger(id) || id <= 0) return <ErrorNote>No such search.</ErrorNote>;
  return <Monitor key={id} searchId={id} />;
}

function Monitor({ searchId }: { searchId: number }) {
  const navigate = useNavigate();
  const store = useMemo(() => new MonitorStore(searchId), [searchId]);
  useEffect(() => {
    void store.start();
    return () => store.dispose();
  }, [store]);
  const snap = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const { state, detail, connection } = snap;
  // The clock ticks now and then so time left and throughput move between events; each
  // snapshot brings it forward too. On the server's clock, like finished_at.
  const clock = useNow(2000);
  const now = Math.max(clock, snap.publishedAt) - snap.clockOffsetMs;
  const controlling = useControlSearch(searchId);
  const cloning = useCloneSearch(searchId);
  const actionError = controlling.error ?? cloning.error;
  const busy = controlling.isPending || cloning.isPending;

  const architectures = useMemo(() => {
    if (detail?.architectures?.length) return detail.architectures;
    const cfg = detail?.config as { eval?: { architectures?: string[] } } | undefined;
    return cfg?.eval?.architectures ?? [];
  }, [detail]);

  const openCandidate = (cid: number) => navigate(`/candidates/${cid}/`);
  const [selected, setSelected] = useState<Set<number>>(() => new Set());
  const toggleSelect = (cid: number) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (next.has(cid)) next.delete(cid);
      else if (next.size < MAX_COMPARED) next.add(cid);
      return next;
    });
  const compare = (ids: number[]) => navigate(compareUrl(searchId, ids));

  if (snap.error && !detail) {
    return (
      <div className="searches">
        <ErrorNote>Could not load the search: {snap.error}</ErrorNote>
        <Link to="/searches/">Back to searches</Link>
      </div>
    );
  }
  if (!detail || snap.loading) {
    return (
      <div className="searches">
        <p aria-busy="true">Loading search…</p>
      </div>
    );
  }

  const budget = detail.budget;
  // budget slots spent: unstable candidates give theirs back (search_engine.evolution)
  const finished = budgetSpent(finishedCount(state), state.funnel?.unstable ?? 0, budget,
    detail.unstable_allowance ?? 0);
  const status = state.status ?? detail.status;
  const stage = state.stage ?? detail.stage;
  const statusText = searchStatusText(status, stage, state.reason ?? detail.reason);
  const startMs = detail.started_at ? Date.parse(detail.started_at) : null;
  const live = status === "running" || status === "queued";
  const endMs = !live && detail.finished_at ? Date.parse(detail.finished_at) : now;
  const tp = throughputPerMinute([...state.finishTimes.values()], endMs, 5 * 60_000, startMs) ??
    detail.throughput_per_minute ?? null;
  const remaining = Math.max(0, budget - finished);
  // An ended search has no time left to estimate; only a finished one has spent it all.
  const eta = live ? etaSeconds(remaining, tp) : status === "finished" ? 0 : null;
  const workers = state.counts.running ? activeWorkers(state) : 0;
  const frac = budget > 0 ? Math.min(1, finished / budget) : 0;
  const bestId = state.rerank?.[0]?.candidate_id ?? bestCandidate(state) ?? detail.best?.id ?? null;

  const control = (action: "pause" | "resume" | "stop") => {
    cloning.reset();
    controlling.mutate(action, { onSuccess: (d) => store.setDetail(d) });
  };
  const clone = () => {
    controlling.reset();
    cloning.mutate({ name: `${detail.name} (clone)` }, { onSuccess: (d) => navigate(`/searches/${d.id}/`) });
  };

  const canPause = status === "running" || status === "queued";
  const canResume = status === "paused";
  const canStop = status === "running" || status === "queued" || status === "paused";

  return (
    <div className="searches monitor">
      <header className="monitor-head">
        <div>
          <p className="muted small">
            <Link to="/searches/">Searches</Link> / #{detail.id}
          </p>
          <h1>{detail.name}</h1>
          <p className="muted small">
            preset {detail.preset} · mode {detail.mode} ·{" "}
            <span data-testid="search-strategy">{detail.strategy === "random" ? "random search" : "evolution"}</span> · seed{" "}
            {detail.seed} · {architectures.join(", ")}
          </p>
        </div>
        <div className="monitor-status">
          <span className={`badge badge-${status}`} data-testid="search-status">
            {statusText.label}
          </span>
          <span className="muted small" data-testid="search-status-detail">
            {statusText.detail}
          </span>
          <span
            className={`conn conn-${connection}`}
            role="status"
            aria-live="polite"
            data-testid="connection-state"
            data-state={connection}
            title={snap.reconnects ? `reconnected ${snap.reconnects}×` : undefined}
          >
            <span className="conn-dot" aria-hidden="true" />
            {CONNECTION_LABEL[connection]}
          </span>
        </div>
      </header>

      <section className="card progress-panel" aria-label="Progress">
        <div
          className="progress"
          role="progressbar"
          aria-label="Budget spent"
          aria-valuemin={0}
          aria-valuemax={budget}
          aria-valuenow={finished}
          aria-valuetext={`${finished} of ${budget} candidates reached training`}
        >
          <div className="progress-bar" style={{ width: `${(frac * 100).toFixed(1)}%` }} />
        </div>
        <dl className="stats">
          <div>
            <dt title="Candidates that reached training; unstable layers cost no budget">Budget spent</dt>
            <dd data-testid="finished-count">
              {finished} / {budget}
            </dd>
          </div>
          {(["queued", "running", "evaluated", "rejected", "failed", "lost", "cancelled"] as const).map((s) => (
            <div key={s}>
              <dt>{s}</dt>
              <dd data-testid={`count-${s}`}>{state.counts[s] ?? 0}</dd>
            </div>
          ))}
          <div>
            <dt>Time left</dt>
            <dd data-testid="eta">{formatDuration(eta)}</dd>
          </div>
          <div>
            <dt>Throughput</dt>
            <dd data-testid="throughput">{tp === null ? "—" : `${tp.toFixed(1)}/min`}</dd>
          </div>
          <div>
            <dt>Workers</dt>
            <dd data-testid="workers">{workers}</dd>
          </div>
        </dl>
        <div className="controls" role="group" aria-label="Search controls">
          <button type="button" className="btn" onClick={() => control("pause")} disabled={busy || !canPause}>
            Pause
          </button>
          <button type="button" className="btn" onClick={() => control("resume")} disabled={busy || !canResume}>
            Resume
          </button>
          <button
            type="button"
            className="btn btn-danger"
            onClick={() => {
              if (window.confirm("Stop this search now? Queued candidates will not start and running evaluations are abandoned."))
                control("stop");
            }}
            disabled={busy || !canStop}
          >
            Stop
          </button>
          <button type="button" className="btn" onClick={() => clone()} disabled={busy}>
            Clone
          </button>
          {bestId !== null ? (
            <Link className="btn" to={`/candidates/${bestId}/`} data-testid="best-link">
              Best layer (#{bestId})
            </Link>
          ) : null}
        </div>
        <ErrorNote error={actionError} />
      </section>

      <div className="monitor-grid">
        <ParetoChart
          state={state}
          version={snap.version}
          architectures={architectures}
          onOpen={openCandidate}
          onCompare={compare}
        />
        <div className="monitor-side">
          <FunnelChart funnel={state.funnel} budget={budget} ended={!live && status !== "paused"} />
          {detail.strategy === "random" ? null : <TournamentFeed feed={state.feed} onOpen={openCandidate} />}
        </div>
      </div>
      {state.rerank && state.rerank.length ? (
        <section className="card" aria-labelledby="rerank-title">
          <h2 id="rerank-title">Re-ranking</h2>
          <ol>
            {state.rerank.map((r) => (
              <li key={r.candidate_id}>
                <Link to={`/candidates/${r.candidate_id}/`}>#{r.candidate_id}</Link> mean{" "}
                {(r.mean_score * 100).toFixed(2)}%
              </li>
            ))}
          </ol>
        </section>
      ) : null}
      <CandidateTable
        state={state}
        version={snap.version}
        architectures={architectures}
        onOpen={openCandidate}
        selected={selected}
        onToggleSelect={toggleSelect}
        onCompare={() => compare([...selected].sort((a, b) => a - b))}
        onClearSelection={() => setSelected(new Set())}
      />
    </div>
  );
}
