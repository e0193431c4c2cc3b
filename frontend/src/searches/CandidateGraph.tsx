// The candidate's graph, read-only: nodes in evaluation order with their
// inputs, so the layer can be read even before the editor's canvas loads.

import type { GraphDocument } from "../api/types";

export function CandidateGraph({ document }: { document: GraphDocument }) {
  const nodes = document.nodes ?? [];
  return (
    <ol className="graph-list" aria-label="Graph nodes">
      {nodes.map((n) => (
        <li key={n.id} className={n.id === document.output ? "graph-output" : undefined}>
          <code>
            {n.id} = {n.op}({n.inputs.join(", ")}
            {n.params ? `; ${Object.entries(n.params).map(([k, v]) => `${k}=${v}`).join(", ")}` : ""})
          </code>
          {n.id === document.output ? <span className="lab-muted small"> output</span> : null}
        </li>
      ))}
    </ol>
  );
}
