/**
 * A read-only view of a layer graph document, for the candidate page, the
 * version history and anywhere else a layer is shown but not edited:
 * `<GraphView document={doc} />`. Dead nodes are greyed and problems marked
 * exactly as in the editor.
 */
import { Background, Controls, ReactFlow, ReactFlowProvider } from "@xyflow/react";
import { useMemo } from "react";
import type { GraphDocument } from "../api/types";
import { toFlow } from "./flow";
import { fromDocument } from "./model";
import { nodeTypes } from "./nodes";
import { BUILTIN_TABLE, type OpTable } from "./opTable";
import { validateGraph } from "./validation";

export interface GraphViewProps {
  document: GraphDocument;
  table?: OpTable;
  /** CSS height of the view (default 360px). */
  height?: number | string;
  className?: string;
  "aria-label"?: string;
  /** Node ids to outline (e.g. what a version added or changed). */
  highlight?: ReadonlySet<string>;
}

export function GraphView({ document, table = BUILTIN_TABLE, height = 360, className, highlight, ...rest }: GraphViewProps) {
  const flow = useMemo(() => {
    const g = fromDocument(document);
    const f = toFlow(g, validateGraph(g, table), table, { readOnly: true });
    if (!highlight?.size) return f;
    return { ...f, nodes: f.nodes.map((n) => (highlight.has(n.id) ? { ...n, className: "node-changed" } : n)) };
  }, [document, table, highlight]);
  return (
    <div
      className={`graph-view ${className ?? ""}`}
      style={{ height }}
      role="figure"
      aria-label={rest["aria-label"] ?? `Graph of ${document.name || "the layer"}`}
    >
      <ReactFlowProvider>
        <ReactFlow
          nodes={flow.nodes}
          edges={flow.edges}
          nodeTypes={nodeTypes}
          nodesDraggable={false}
          nodesConnectable={false}
          elementsSelectable={false}
          nodesFocusable={false}
          edgesFocusable={false}
          fitView
          fitViewOptions={{ padding: 0.1 }}
          minZoom={0.1}
          proOptions={{ hideAttribution: true }}
        >
          <Background gap={20} size={1} />
          <Controls showInteractive={false} />
        </ReactFlow>
      </ReactFlowProvider>
    </div>
  );
}

export default GraphView;
