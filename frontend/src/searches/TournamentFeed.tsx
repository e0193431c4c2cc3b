// The latest tournaments: who competed, who was on the front, who won, and
// the child its mutation produced, newest first.

import type { TournamentEntry } from "./store";

interface Props {
  feed: TournamentEntry[];
  onOpen: (id: number) => void;
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
    <section className="lab-panel feed" aria-labelledby="feed-title">
      <div className="lab-panel-head">
        <h2 id="feed-title">Tournaments</h2>
        <span className="lab-muted small">latest {feed.length}</span>
      </div>
      {feed.length === 0 ? (
        <p className="lab-muted">No tournament yet: the first candidates are random or seeds.</p>
      ) : (
        <ol className="feed-list" aria-label="Tournament feed">
          {feed.map((t) => {
            const front = new Set(t.front);
            return (
              <li key={t.seq} className="feed-item">
                <div className="feed-line">
                  {t.winner !== null ? <Chip id={t.winner} kind="winner" onOpen={onOpen} /> : null}
                  <span className="feed-arrow">
                    → <span className="mutation">{t.mutation}</span> →
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
