/**
 * The latest tournaments: who competed, who was on the front, who won, and
 * the child its mutation produced, newest first.
 */

import type { TournamentEntry } from "./store";

interface Props {
  feed: TournamentEntry[];
  onOpen: (id: number) => void;
}

/** What each mutation did to the winner, in words ("node" is an earlier version's mutation). */
export const MUTATION_TEXT: Record<string, string> = {
  insert: "a new node inserted into an edge",
  op: "one node's operation changed",
  input: "one node's input changed",
  node: "one node replaced by a new random one (an earlier version's mutation)",
};

function Legend() {
  return (
    <details className="feed-legend">
      <summary>What the chips mean</summary>
      <dl aria-label="Legend">
        <dt>
          <span className="chip chip-winner">12</span>
        </dt>
        <dd>the winner of the tournament: the parent</dd>
        <dt>
          <span className="mutation">op</span>
        </dt>
        <dd>
          the mutation that made the child: <b>insert</b> ({MUTATION_TEXT.insert}), <b>op</b> ({MUTATION_TEXT.op}),{" "}
          <b>input</b> ({MUTATION_TEXT.input}); <b>node</b>: {MUTATION_TEXT.node}
        </dd>
        <dt>
          <span className="chip chip-child">15</span>
        </dt>
        <dd>the child: the new candidate</dd>
        <dt>
          <span className="mini">3</span> <span className="mini mini-front">5</span>{" "}
          <span className="mini mini-winner">12</span>
        </dt>
        <dd>the contestants: grey, off the front; light orange, on the contestants' Pareto front; dark orange, the winner, drawn from the front</dd>
      </dl>
      <p>Numbers are candidate numbers; click a chip to open that candidate.</p>
    </details>
  );
}

function Chip({ id, kind, onOpen }: { id: number; kind: string; onOpen: (id: number) => void }) {
  return (
    <button type="button" className={`chip chip-${kind}`} onClick={() => onOpen(id)} aria-label={`candidate ${id} (${kind})`}>
      {id}
    </button>
  );
}

export function TournamentFeed({ feed, onOpen }: Props) {
  return (
    <section className="card feed" aria-labelledby="feed-title">
      <div className="card-head">
        <h2 id="feed-title">Tournaments</h2>
        <span className="muted small">latest {feed.length}</span>
      </div>
      <Legend />
      {feed.length === 0 ? (
        <p className="muted">No tournament yet: the first candidates are random or seeds.</p>
      ) : (
        <ol className="feed-list" aria-label="Tournament feed">
          {feed.map((t) => {
            const front = new Set(t.front);
            return (
              <li key={t.seq} className="feed-item">
                <div className="feed-line">
                  {t.winner !== null ? <Chip id={t.winner} kind="winner" onOpen={onOpen} /> : null}
                  <span className="feed-arrow">
                    → <span className="mutation" title={MUTATION_TEXT[t.mutation] ?? t.mutation}>{t.mutation}</span> →
                  </span>
                  <Chip id={t.childId} kind="child" onOpen={onOpen} />
                </div>
                <div className="feed-contestants" aria-label={`${t.contestants.length} contestants`}>
                  {t.contestants.map((c) => (
                    <span key={c} className={`mini ${c === t.winner ? "mini-winner" : front.has(c) ? "mini-front" : ""}`}>
                      {c}
                    </span>
                  ))}
                </div>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
