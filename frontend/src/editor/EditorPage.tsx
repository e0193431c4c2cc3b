/**
 * The layer editor page (`/editor/` and `/editor/<id>/`): palette on the left,
 * canvas in the middle, inspector and checks on the right, toolbar on top.
 *
 * One store (./store) holds the graph's undo history, the selection and the
 * saved layer; focused hooks load the start (./useEditorStart), save
 * (./useSave), check numerics (./useProbe), copy, paste and answer keys
 * (./useEditorKeys) and move the view (./useCanvasView). A connection dropped
 * on a full slot or on the output replaces the old one; an op dropped on a
 * connection (or a free node dragged onto one) goes in between.
 */
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation, useParams } from "react-router";
import { errorMessage } from "../api/client";
import { useOps } from "../api/queries";
import type { LayerSaved } from "../api/types";
import { ErrorNote } from "../app/ui";
import { VersionHistory } from "../layers/VersionHistory";
import { Canvas, endName } from "./Canvas";
import { ChecksPanel } from "./ChecksPanel";
import { Inspector } from "./Inspector";
import { elkLayout } from "./layout";
import {
  canConnect,
  connect,
  disconnect,
  moveNodes,
  OUTPUT_KEY,
  setMeta,
  setOutput,
  setParam,
  toDocument,
  type EditorGraph,
  type Wire,
  type XY,
} from "./model";
import { NumericsPanel } from "./NumericsPanel";
import { BUILTIN_TABLE, mergeRegistry, type OpTable } from "./opTable";
import { Palette } from "./Palette";
import { createEditorStore, isDirty, useEditorState, type EditorStore } from "./store";
import { Toolbar } from "./Toolbar";
import { useCanvasView } from "./useCanvasView";
import { useEditorStart } from "./useEditorStart";
import { useClipboard, useEditorKeys } from "./useEditorKeys";
import { useNotice } from "./useNotice";
import { useProbe } from "./useProbe";
import { useSave } from "./useSave";
import { semanticKey, useServerValidation } from "./useServerValidation";
import { validateGraph } from "./validation";

export { MINIMAP_KEY } from "./useCanvasView";

export function EditorRoute() {
  const { id } = useParams();
  const location = useLocation();
  // Saving a new layer moves the URL to /editor/<id> with the same session, so
  // the page (and its undo history) stays mounted.
  const session = (location.state as { session?: string } | null)?.session ?? location.key;
  return (
    <ReactFlowProvider key={session}>
      <EditorPage layerId={id ? Number(id) : null} search={location.search} session={session} />
    </ReactFlowProvider>
  );
}

/** The op table: the server's registry once it is in, the built-in one until then (or if it fails). */
function useOpTable(): { table: OpTable; source: "server" | "built-in" } {
  const registry = useOps().data;
  const table = useMemo(() => (registry?.ops.length ? mergeRegistry(registry) : BUILTIN_TABLE), [registry]);
  return { table, source: registry?.ops.length ? "server" : "built-in" };
}

/** The canvas's edit callbacks over the store: one undoable edit, and node drags as one step. */
function useCanvasEdits(store: EditorStore) {
  const edit = useCallback((fn: (g: EditorGraph) => EditorGraph) => store.dispatch({ type: "edit", fn }), [store]);
  const drag = useMemo(
    () => ({
      begin: () => void store.dispatch({ type: "gestureStart", kind: "drag" }),
      move: (moves: Record<string, XY>) => void store.dispatch({ type: "gestureMove", fn: (g) => moveNodes(g, moves) }),
      end: (then?: (g: EditorGraph) => EditorGraph) => void store.dispatch({ type: "gestureEnd", kind: "drag", then }),
      active: () => store.getState().gestures.drag !== null,
    }),
    [store],
  );
  const setSelected = useCallback(
    (ids: Set<string> | ((prev: Set<string>) => Set<string>)) => void store.dispatch({ type: "select", ids }),
    [store],
  );
  return { edit, drag, setSelected };
}

function EditorPage({ layerId, search, session }: { layerId: number | null; search: string; session: string }) {
  const [store] = useState(createEditorStore);
  const state = useEditorState(store);
  const { table, source: tableSource } = useOpTable();
  const { notice, notify } = useNotice();
  const canvasRef = useRef<HTMLDivElement>(null);
  const view = useCanvasView(canvasRef);
  const { readableView, revealNodes } = view;
  const openingView = useCallback(() => void readableView(), [readableView]);
  const { loadError } = useEditorStart(store, { session, layerId, search }, openingView);
  const { save, saving } = useSave(store, notify, session);
  const { probe, probeError, probing, checkNumerics } = useProbe(store);
  const { copy, paste } = useClipboard(store, notify, revealNodes);
  useEditorKeys(store, { save, copy, paste });
  const { edit, drag, setSelected } = useCanvasEdits(store);

  const graph = state.history.present;
  const selected = state.selected;
  const validation = useMemo(() => validateGraph(graph, table), [graph, table]);
  const doc = useMemo(() => toDocument(graph), [graph]);
  const docKey = useMemo(() => JSON.stringify(doc), [doc]);
  const server = useServerValidation(doc);
  const dirty = isDirty(state, docKey);
  useWarnBeforeLeaving(dirty);

  const addOp = useCallback(
    (op: string, at: XY, wire?: Wire) => {
      if (!table[op]) return;
      const { created, spliced } = store.dispatch({ type: "add", op, at, table, wire });
      const id = created[0];
      notify(spliced && wire ? `Added ${op} as ${id} on the connection ${wire.source} → ${endName(wire.target)}.` : `Added ${op} as ${id}.`);
      revealNodes([id]);
    },
    [notify, revealNodes, store, table],
  );

  const addAtCenter = useCallback(
    (op: string) => {
      const [x, y] = view.centre();
      const jitter = (store.getState().history.present.nodes.length % 6) * 18;
      addOp(op, [x - 60 + jitter, y - 30 + jitter]);
    },
    [addOp, store, view],
  );

  const autoLayout = useAutoLayout(edit, notify, readableView);

  const focusNode = useCallback(
    (id: string) => {
      setSelected(new Set([id]));
      void view.zoomToNode(id);
    },
    [setSelected, view],
  );

  const onRestored = useCallback(
    (l: LayerSaved) => {
      store.dispatch({ type: "restored", layer: l });
      notify(l.layout_only ? `That version has the same graph; its layout is restored in version ${l.version}.` : `Restored as version ${l.version}.`);
      window.requestAnimationFrame(() => void readableView());
    },
    [notify, readableView, store],
  );

  const inspected = useMemo(() => {
    const nodeIds = [...selected].filter((id) => id === OUTPUT_KEY || graph.nodes.some((n) => n.id === id));
    return nodeIds.length === 1 ? nodeIds[0] : null;
  }, [graph.nodes, selected]);

  if (loadError)
    return (
      <div className="editor-error">
        <h1>Cannot open this layer</h1>
        <ErrorNote error={loadError} />
        <Link to="/editor/">Start on a blank canvas</Link> or <Link to="/layers/">go to your layers</Link>.
      </div>
    );

  const layer = state.layer;
  return (
    <div className="editor" aria-busy={!state.loaded}>
      <h1 className="sr-only">Layer editor</h1>
      <Toolbar
        store={store}
        dirty={dirty}
        save={save}
        saving={saving}
        onAutoLayout={() => void autoLayout()}
        onFit={() => void view.zoomToFit()}
        showMinimap={view.showMinimap}
        onToggleMinimap={view.toggleMinimap}
        onCheckNumerics={checkNumerics}
        probing={probing}
      />
      <div className="editor-body">
        <Palette table={table} onAdd={addAtCenter} source={tableSource} />
        <div className="canvas-wrap" ref={canvasRef} aria-label="Graph canvas" role="region">
          <Canvas
            graph={graph}
            validation={validation}
            table={table}
            selected={selected}
            setSelected={setSelected}
            edit={edit}
            drag={drag}
            onAddOp={addOp}
            notify={notify}
            showMinimap={view.showMinimap}
          />
          <div className={`notice ${notice ? `notice-${notice.kind}` : "notice-hidden"}`} role="status" aria-live="polite" data-testid="notice">
            {notice?.text}
          </div>
          {state.loaded && graph.nodes.length === 0 && (
            <div className="canvas-hint" aria-hidden="true">
              Drag ops from the palette, then connect an output handle (right) to an input slot (left). Drop an op on a connection to put it in between.
            </div>
          )}
        </div>
        <aside className="side" aria-label="Inspector and checks">
          <ChecksPanel validation={validation} server={server} currentKey={semanticKey(doc)} onFocusNode={focusNode} />
          <Inspector
            graph={graph}
            validation={validation}
            table={table}
            nodeId={inspected}
            onMeta={(meta) => edit((g) => setMeta(g, meta))}
            onParam={(id, key, value) => edit((g) => setParam(g, id, key, value))}
            onSlot={(id, slot, source) =>
              edit((g) => {
                const freed = disconnect(g, id, slot);
                return source && canConnect(freed, source, id, slot, table).ok ? connect(freed, source, id, slot) : freed;
              })
            }
            onOutput={(id) => edit((g) => setOutput(g, id))}
            onDelete={(id) => store.dispatch({ type: "deleteNode", id })}
          />
          <NumericsPanel probe={probe} error={probeError} running={probing} />
          {layer && <VersionHistory layerId={layer.id} currentVersion={layer.version} onRestored={onRestored} />}
        </aside>
      </div>
    </div>
  );
}

/** Lays the graph out left to right (ELK), as one undo step. */
function useAutoLayout(edit: (fn: (g: EditorGraph) => EditorGraph) => unknown, notify: (text: string, kind?: "info" | "error") => void, readableView: (duration?: number) => Promise<void>) {
  const rf = useReactFlow();
  return useCallback(async () => {
    const nodes = rf.getNodes();
    const boxes = nodes.map((n) => ({ id: n.id, width: n.measured?.width ?? 150, height: n.measured?.height ?? 70 }));
    const edges = rf.getEdges().map((e) => ({ source: e.source, target: e.target }));
    try {
      const positions = await elkLayout(boxes, edges);
      edit((g) => moveNodes(g, positions));
      window.requestAnimationFrame(() => void readableView(200));
      notify("Laid out left to right.");
    } catch (e) {
      notify(`Layout failed: ${errorMessage(e)}`, "error");
    }
  }, [edit, notify, readableView, rf]);
}

/** Warns before leaving with unsaved changes (browser navigation only). */
function useWarnBeforeLeaving(dirty: boolean): void {
  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [dirty]);
}
