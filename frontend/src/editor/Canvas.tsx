/**
 * The React Flow canvas of the editor. It renders the editor graph and turns
 * React Flow's events into model edits: connections are checked with the
 * validation mirror while they are drawn (cycles are refused; a connection
 * dropped on an occupied slot replaces the old one), drags become one undo
 * step, deletions one more. A node without connections dropped onto a
 * connection (from the palette, or dragged there) is spliced into it.
 */
import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type Edge,
  type EdgeChange,
  type FinalConnectionState,
  type IsValidConnection,
  type NodeChange,
} from "@xyflow/react";
import { useCallback, useMemo, useState, type Dispatch, type DragEvent, type SetStateAction } from "react";
import { docIdOf, modelKeyOf, slotOfHandle, toFlow, type EdgeData, type FlowNode } from "./flow";
import {
  canConnect,
  canSplice,
  connect,
  connectionReplaces,
  disconnect,
  OUTPUT_KEY,
  removeNodes,
  spliceNode,
  type EditorGraph,
  type Wire,
  type XY,
} from "./model";
import { nodeTypes } from "./nodes";
import type { OpTable } from "./opTable";
import type { Validation } from "./validation";

export const OP_MIME = "application/x-layer-op";

export interface CanvasProps {
  graph: EditorGraph;
  validation: Validation;
  table: OpTable;
  selected: Set<string>;
  setSelected: Dispatch<SetStateAction<Set<string>>>;
  /** One undoable edit. */
  edit: (fn: (g: EditorGraph) => EditorGraph) => void;
  /** Node drags: begin records the undo point, move changes the present, end commits (with `then` in the same step). */
  drag: {
    begin: () => void;
    move: (moves: Record<string, XY>) => void;
    end: (then?: (g: EditorGraph) => EditorGraph) => void;
    active: () => boolean;
  };
  /** Adds an op at `at`; with `wire`, spliced into that connection in the same undo step. */
  onAddOp: (op: string, at: XY, wire?: Wire) => void;
  notify: (message: string, kind?: "info" | "error") => void;
  showMinimap: boolean;
}

/** The label of a wire's end for messages: a node id, an input name or "the output". */
export const endName = (id: string) => (id === OUTPUT_KEY ? "the output" : id);

function endpoints(c: { source: string | null; target: string | null; targetHandle?: string | null }) {
  return {
    source: docIdOf(c.source ?? ""),
    target: c.target === OUTPUT_KEY ? OUTPUT_KEY : (c.target ?? ""),
    slot: c.target === OUTPUT_KEY ? 0 : slotOfHandle(c.targetHandle),
  };
}

/** `prev` with each (id, on) of React Flow's select changes applied. */
function toggled(prev: Set<string>, select: ReadonlyArray<readonly [string, boolean]>): Set<string> {
  const next = new Set(prev);
  for (const [id, on] of select) if (on) next.add(id);
  else next.delete(id);
  return next;
}

export function Canvas({ graph, validation, table, selected, setSelected, edit, drag, onAddOp, notify, showMinimap }: CanvasProps) {
  const rf = useReactFlow();
  const [measured, setMeasured] = useState<Record<string, { width: number; height: number }>>({});
  const flow = useMemo(
    () => toFlow(graph, validation, table, { selected, measured }),
    [graph, validation, table, selected, measured],
  );
  // The connection a node would be spliced into if dropped now (highlighted while dragging).
  const [spliceEdge, setSpliceEdge] = useState<string | null>(null);
  const shownEdges = useMemo(
    () =>
      spliceEdge
        ? flow.edges.map((e) => (e.id === spliceEdge ? { ...e, className: `${e.className ?? ""} edge-splice-target`.trim() } : e))
        : flow.edges,
    [flow.edges, spliceEdge],
  );

  const onNodesChange = useCallback(
    (changes: NodeChange<FlowNode>[]) => {
      const moves: Record<string, XY> = {};
      let moved = false;
      let dragging = false;
      const dims: Record<string, { width: number; height: number }> = {};
      const select: Array<[string, boolean]> = [];
      for (const c of changes) {
        if (c.type === "select") select.push([c.id, c.selected]);
        else if (c.type === "position" && c.position) {
          moves[modelKeyOf(c.id)] = [c.position.x, c.position.y];
          moved = true;
          dragging ||= Boolean(c.dragging);
        } else if (c.type === "dimensions" && c.dimensions) dims[c.id] = c.dimensions;
      }
      if (select.length) setSelected((prev) => toggled(prev, select));
      if (moved) {
        if (dragging || drag.active()) drag.move(moves);
        else edit((g) => ({ ...g, positions: { ...g.positions, ...moves } })); // keyboard nudge
      }
      if (Object.keys(dims).length)
        setMeasured((prev) => {
          const changed = Object.entries(dims).some(
            ([id, d]) => prev[id]?.width !== d.width || prev[id]?.height !== d.height,
          );
          return changed ? { ...prev, ...dims } : prev;
        });
    },
    [drag, edit, setSelected],
  );

  const onEdgesChange = useCallback(
    (changes: EdgeChange<Edge<EdgeData>>[]) => {
      const select = changes.flatMap((c) => (c.type === "select" ? [[c.id, c.selected] as const] : []));
      if (select.length) setSelected((prev) => toggled(prev, select));
    },
    [setSelected],
  );

  const onDelete = useCallback(
    ({ nodes, edges }: { nodes: FlowNode[]; edges: Edge<EdgeData>[] }) => {
      const gone = nodes.filter((n) => n.type === "op").map((n) => n.id);
      if (gone.length === 0 && edges.length === 0) return;
      edit((g) => {
        let next = removeNodes(g, gone);
        for (const e of edges) {
          if (!e.data || gone.includes(e.data.target)) continue;
          next = disconnect(next, e.data.target, e.data.slot);
        }
        return next;
      });
      setSelected(new Set());
      notify(
        `Deleted ${gone.length ? `${gone.length} node${gone.length > 1 ? "s" : ""}` : ""}${gone.length && edges.length ? " and " : ""}${edges.length ? `${edges.length} connection${edges.length > 1 ? "s" : ""}` : ""}.`,
      );
    },
    [edit, notify, setSelected],
  );

  const isValidConnection: IsValidConnection = useCallback(
    (c) => {
      const { source, target, slot } = endpoints(c);
      return canConnect(graph, source, target, slot, table).ok;
    },
    [graph, table],
  );

  const onConnect = useCallback(
    (c: Connection) => {
      const { source, target, slot } = endpoints(c);
      const verdict = canConnect(graph, source, target, slot, table);
      if (!verdict.ok) {
        notify(`Refused: ${verdict.reason}.`, "error");
        return;
      }
      const old = connectionReplaces(graph, target, slot);
      edit((g) => connect(g, source, target, slot));
      if (old && old !== source) {
        const where = target === OUTPUT_KEY ? "the output" : `input ${table[graph.nodes.find((n) => n.id === target)?.op ?? ""]?.slots[slot] ?? slot + 1} of ${target}`;
        notify(`${source} replaces ${old} at ${where} (Ctrl+Z puts ${old} back).`);
      }
    },
    [edit, graph, notify, table],
  );

  /** The connection drawn under a screen point, if any (edges lie under the nodes). */
  const wireAt = useCallback(
    (clientX: number, clientY: number, except?: string): (Wire & { id: string }) | null => {
      for (const el of document.elementsFromPoint(clientX, clientY)) {
        const id = el.closest(".react-flow__edge")?.getAttribute("data-id");
        if (!id) continue;
        const e = flow.edges.find((x) => x.id === id);
        if (!e?.data) continue;
        const wire = { source: docIdOf(e.source), target: e.data.target, slot: e.data.slot, id };
        if (except && (wire.source === except || wire.target === except)) continue;
        return wire;
      }
      return null;
    },
    [flow.edges],
  );

  const onNodeDrag = useCallback(
    (e: MouseEvent | TouchEvent, node: FlowNode, nodes: FlowNode[]) => {
      const point = "clientX" in e ? e : e.touches?.[0];
      const wire = point && nodes.length <= 1 && node.type === "op" ? wireAt(point.clientX, point.clientY, node.id) : null;
      const id = wire && canSplice(graph, node.id, wire) ? wire.id : null;
      setSpliceEdge((prev) => (prev === id ? prev : id));
    },
    [graph, wireAt],
  );

  const onNodeDragStop = useCallback(
    (e: MouseEvent | TouchEvent, node: FlowNode, nodes: FlowNode[]) => {
      const point = "clientX" in e ? e : e.changedTouches?.[0];
      const wire = point && nodes.length <= 1 && node.type === "op" ? wireAt(point.clientX, point.clientY, node.id) : null;
      setSpliceEdge(null);
      if (wire && canSplice(graph, node.id, wire)) {
        drag.end((g) => spliceNode(g, node.id, wire));
        notify(`Put ${node.id} on the connection ${wire.source} → ${endName(wire.target)}.`);
      } else drag.end();
    },
    [drag, graph, notify, wireAt],
  );

  const onConnectEnd = useCallback(
    (_e: MouseEvent | TouchEvent, state: FinalConnectionState) => {
      if (!state.toHandle || state.isValid || !state.fromNode || !state.toNode) return;
      const fromSource = state.fromHandle?.type === "source";
      const c = fromSource
        ? { source: state.fromNode.id, target: state.toNode.id, targetHandle: state.toHandle.id }
        : { source: state.toNode.id, target: state.fromNode.id, targetHandle: state.fromHandle?.id };
      const { source, target, slot } = endpoints(c);
      const verdict = canConnect(graph, source, target, slot, table);
      notify(verdict.ok ? "That connection is not possible." : `Refused: ${verdict.reason}.`, "error");
    },
    [graph, notify, table],
  );

  const onDragOver = useCallback(
    (e: DragEvent) => {
      if (e.dataTransfer.types.includes(OP_MIME)) {
        e.preventDefault();
        e.dataTransfer.dropEffect = "copy";
        const id = wireAt(e.clientX, e.clientY)?.id ?? null;
        setSpliceEdge((prev) => (prev === id ? prev : id));
      }
    },
    [wireAt],
  );

  const onDragLeave = useCallback((e: DragEvent) => {
    if (!e.currentTarget.contains(e.relatedTarget as Node | null)) setSpliceEdge(null);
  }, []);

  const onDrop = useCallback(
    (e: DragEvent) => {
      const op = e.dataTransfer.getData(OP_MIME);
      setSpliceEdge(null);
      if (!op) return;
      e.preventDefault();
      const p = rf.screenToFlowPosition({ x: e.clientX, y: e.clientY });
      onAddOp(op, [p.x - 60, p.y - 30], wireAt(e.clientX, e.clientY) ?? undefined);
    },
    [onAddOp, rf, wireAt],
  );

  return (
    <ReactFlow<FlowNode, Edge<EdgeData>>
      nodes={flow.nodes}
      edges={shownEdges}
      nodeTypes={nodeTypes}
      onNodesChange={onNodesChange}
      onEdgesChange={onEdgesChange}
      onDelete={onDelete}
      onConnect={onConnect}
      onConnectEnd={onConnectEnd}
      isValidConnection={isValidConnection}
      onNodeDragStart={drag.begin}
      onNodeDrag={onNodeDrag}
      onNodeDragStop={onNodeDragStop}
      onSelectionDragStart={drag.begin}
      onSelectionDragStop={() => drag.end()}
      onDragOver={onDragOver}
      onDragLeave={onDragLeave}
      onDrop={onDrop}
      deleteKeyCode={["Delete", "Backspace"]}
      selectionKeyCode="Shift"
      multiSelectionKeyCode={["Control", "Meta"]}
      connectionRadius={24}
      minZoom={0.15}
      maxZoom={2.5}
      defaultEdgeOptions={{ type: "default" }}
      ariaLabelConfig={{ "node.a11yDescription.default": "Press Enter or Space to select a node. Delete removes it. Arrow keys move it." }}
    >
      <Background gap={20} size={1} />
      <Controls showInteractive={false} aria-label="Zoom controls" />
      {showMinimap && (
        <MiniMap pannable zoomable ariaLabel="Mini map of the graph" nodeStrokeWidth={3} style={{ width: 168, height: 112 }} />
      )}
    </ReactFlow>
  );
}
