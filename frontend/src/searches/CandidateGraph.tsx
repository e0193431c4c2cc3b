/**
 * The candidate's graph drawn read-only by the editor's GraphView, with the
 * nodes also listed as text (readable by screen readers and in print).
 */

import type { GraphDocument } from "../api/types";
import { GraphView } from "../editor/GraphView";

export function CandidateGraph({
  document,
  height = 360,
  label = "Graph of the candidate layer (read-only)",
}: {
  document: GraphDocument;
  height?: number;
  label?: string;
}) {
  const nodes = document.nodes ?? [];
  return (
    <>
      <GraphView document={document} height={height} aria-label={label} />
      <details className="graph-text">
        <summary>Nodes as text</summary>
        <ol className="graph-list" aria-label="Graph nodes">
          {nodes.map((n) => (
            <li key={n.id} className={n.id === document.output ? "graph-output" : undefined}>
              <code>
                {n.id} = {n.op}({n.inputs.join(", ")}
                {n.params ? `; ${Object.entries(n.params).map(([k, v]) => `${k}=${v}`).join(", ")}` : ""})
              </code>
              {n.id === document.output ? <span className="muted small"> output</span> : null}
            </li>
          ))}
        </ol>
      </details>
    </>
  );
}
