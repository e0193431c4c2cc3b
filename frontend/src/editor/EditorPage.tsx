/**
 * The layer editor page (`/editor/` and `/editor/<id>/`): palette on the left,
 * canvas in the middle, inspector and checks on the right, toolbar on top.
 *
 * Starts from a saved layer (`/editor/<id>`), a reference layer
 * (`?ref=<slug>`), a search candidate (`?from_candidate=<id>`) or a blank
 * canvas. Keys: Ctrl+Z undo, Ctrl+Shift+Z / Ctrl+Y redo, Ctrl+C / Ctrl+V copy
 * and paste, Ctrl+A select all, Delete / Backspace delete, Ctrl+S save,
 * Shift-drag box select, arrow keys move the focused node. A connection
 * dropped on a full slot or on the output replaces the old one; an op dropped
 * on a connection (or a free node dragged onto one) goes in between.
 */
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useLocation, useNavigate, useParams } from "react-router";
import { api, errorMessage } from "../api/client";
import type { GraphDocument, LayerDetail, LayerSaved, NumericProbe, ReferenceLayer } from "../api/types";
import { VersionHistory } from "../layers/VersionHistory";
import { Canvas } from "./Canvas";
import { ChecksPanel } from "./ChecksPanel";
import { canRedo, canUndo, commit, commitFrom, createHistory, redo, replace, undo, type History } from "./history";
import { Inspector } from "./Inspector";
import { elkLayout } from "./layout";
import {
  addNode,
  canConnect,
  connect,
  copyNodes,
  disconnect,
  emptyGraph,
  fromDocument,
  moveNodes,
  OUTPUT_KEY,
  pasteNodes,
  removeNodes,
  setMeta,
  setOutput,
  setParam,
  spliceNode,
  toDocument,
  type Clipboard,
  type EditorGraph,
  type Wire,
  type XY,
} from "./model";
import { NumericsPanel } from "./NumericsPanel";
import { BUILTIN_TABLE, mergeRegistry, type OpTable } from "./opTable";
import { Palette } from "./Palette";
import { semanticKey, useServerValidation } from "./useServerValidation";
import { validateGraph } from "./validation";
import { panClearOf, readableViewport } from "./viewport";
import { endName } from "./Canvas";

/** Survives page changes inside the app, like a system clipboard would. */
let clipboard: Clipboard | null = null;
const CANDIDATE_IMPORT_KEY = "lab.editor.import";
/** Whether the mini map is shown, remembered across visits ("shown" / "hidden"). */
export const MINIMAP_KEY = "lab.editor.minimap";

function storedMinimap(): boolean {
  try {
    return window.localStorage.getItem(MINIMAP_KEY) !== "hidden";
  } catch {
    return true;
  }
}

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

interface Notice {
  text: string;
  kind: "info" | "error";
  at: number;
}

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || el.isContentEditable;
}

async function loadStart(layerId: number | null, search: string): Promise<{ graph: EditorGraph; layer: LayerDetail | null; origin: string }> {
  if (layerId !== null) {
    const layer = await api.getLayer(layerId);
    return { graph: fromDocument({ ...layer.document, name: layer.name }), layer, origin: `layer ${layer.name}` };
  }
  const params = new URLSearchParams(search);
  const ref = params.get("ref");
  if (ref) {
    const refs = await api.referenceLayers();
    const found = refs.find((r) => r.slug === ref || r.name === ref);
    if (!found) throw new Error(`There is no reference layer ${JSON.stringify(ref)}.`);
    return { graph: fromDocument(found.document), layer: null, origin: `reference ${found.name}` };
  }
  const cand = params.get("from_candidate");
  if (cand) {
    let doc: GraphDocument | null = null;
    try {
      const stored = JSON.parse(sessionStorage.getItem(CANDIDATE_IMPORT_KEY) ?? "null") as {
        candidate_id?: number;
        document?: GraphDocument;
      } | null;
      if (stored && String(stored.candidate_id) === cand && stored.document) doc = stored.document;
    } catch {
      /* fall back to the API */
    }
    if (!doc) {
      const c = await api.getCandidate(Number(cand));
      doc = { ...c.document, name: c.document.name || `candidate ${c.id}` };
    }
    return { graph: fromDocument(doc), layer: null, origin: `candidate ${cand}` };
  }
  return { graph: emptyGraph(), layer: null, origin: "blank" };
}

function EditorPage({ layerId, search, session }: { layerId: number | null; search: string; session: string }) {
  const rf = useReactFlow();
  const navigate = useNavigate();
  const [table, setTable] = useState<OpTable>(BUILTIN_TABLE);
  const [tableSource, setTableSource] = useState<"server" | "built-in">("built-in");
  const [refs, setRefs] = useState<ReferenceLayer[]>([]);
  const [refChoice, setRefChoice] = useState("");
  const [history, setHistory] = useState<History<EditorGraph>>(() => createHistory(emptyGraph()));
  const [loaded, setLoaded] = useState(false);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [layer, setLayer] = useState<LayerDetail | null>(null);
  const [savedKey, setSavedKey] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const [notice, setNotice] = useState<Notice | null>(null);
  const [probe, setProbe] = useState<NumericProbe | null>(null);
  const [probeError, setProbeError] = useState<string | null>(null);
  const [probing, setProbing] = useState(false);
  const [showMinimap, setShowMinimap] = useState(storedMinimap);
  const canvasRef = useRef<HTMLDivElement>(null);
  const dragOrigin = useRef<EditorGraph | null>(null);
  const nameOrigin = useRef<EditorGraph | null>(null);
  // The latest history, updated synchronously by every change (`apply`): a functional
  // setState updater may run later, during the next render, so ids computed inside one
  // (addOp, paste) would not be known yet when the new nodes are selected.
  const historyRef = useRef(history);
  const apply = useCallback((fn: (h: History<EditorGraph>) => History<EditorGraph>) => {
    const next = fn(historyRef.current);
    if (next !== historyRef.current) {
      historyRef.current = next;
      setHistory(next);
    }
  }, []);

  const graph = history.present;
  const validation = useMemo(() => validateGraph(graph, table), [graph, table]);
  const doc = useMemo(() => toDocument(graph), [graph]);
  const docKey = useMemo(() => JSON.stringify(doc), [doc]);
  const server = useServerValidation(doc);
  const dirty = savedKey === null ? graph.nodes.length > 0 : savedKey !== docKey;

  const notify = useCallback((text: string, kind: "info" | "error" = "info") => setNotice({ text, kind, at: Date.now() }), []);
  useEffect(() => {
    if (!notice) return;
    const t = window.setTimeout(() => setNotice((n) => (n === notice ? null : n)), 6000);
    return () => window.clearTimeout(t);
  }, [notice]);

  // --- view ----------------------------------------------------------------------------
  /** The opening view: the whole graph where it fits at a readable zoom, else its readable left part. */
  const readableView = useCallback(
    async (duration = 0) => {
      await rf.fitView({ padding: 0.1, minZoom: 0.15, maxZoom: 1.2 }); // resolves once nodes are measured
      const box = canvasRef.current?.getBoundingClientRect();
      const nodes = rf.getNodes();
      if (!box || nodes.length === 0) return;
      await rf.setViewport(readableViewport(rf.getNodesBounds(nodes), { width: box.width, height: box.height }), { duration });
    },
    [rf],
  );

  /** Pans new nodes out from under the mini map, so a node dropped in its corner stays in reach. */
  const revealNodes = useCallback(
    (ids: string[]) => {
      window.requestAnimationFrame(() => {
        const wrap = canvasRef.current;
        const map = wrap?.querySelector(".react-flow__minimap")?.getBoundingClientRect();
        if (!wrap || !map) return;
        let dx = 0;
        let dy = 0;
        for (const id of ids) {
          const el = wrap.querySelector(`.react-flow__node[data-id="${CSS.escape(id)}"]`);
          if (!el) continue;
          const r = el.getBoundingClientRect();
          const pan = panClearOf({ x: r.x + dx, y: r.y + dy, width: r.width, height: r.height }, { x: map.x, y: map.y, width: map.width, height: map.height });
          dx += pan.dx;
          dy += pan.dy;
        }
        if (dx || dy) {
          const v = rf.getViewport();
          void rf.setViewport({ x: v.x + dx, y: v.y + dy, zoom: v.zoom }, { duration: 150 });
        }
      });
    },
    [rf],
  );

  const toggleMinimap = useCallback(() => {
    setShowMinimap((on) => {
      try {
        window.localStorage.setItem(MINIMAP_KEY, on ? "hidden" : "shown");
      } catch {
        /* private mode: the choice lasts for this page only */
      }
      return !on;
    });
  }, []);

  // --- loading -------------------------------------------------------------------------
  useEffect(() => {
    api.ops().then(
      (reg) => {
        if (reg.ops.length) {
          setTable(mergeRegistry(reg));
          setTableSource("server");
        }
      },
      () => setTableSource("built-in"),
    );
    api.referenceLayers().then(setRefs, () => undefined);
    let live = true;
    loadStart(layerId, search).then(
      ({ graph: g, layer: l }) => {
        if (!live) return;
        apply(() => createHistory(g));
        setLayer(l);
        setSavedKey(l ? JSON.stringify(toDocument(g)) : null);
        setLoaded(true);
        window.requestAnimationFrame(() => void readableView());
      },
      (e) => {
        if (!live) return;
        setLoadError(errorMessage(e));
        setLoaded(true);
      },
    );
    return () => {
      live = false;
    };
    // The start is read once per editor session; saving changes the URL but not the session.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [session]);

  // --- edits -----------------------------------------------------------------------------
  const edit = useCallback((fn: (g: EditorGraph) => EditorGraph) => apply((h) => commit(h, fn(h.present))), [apply]);
  const drag = useMemo(
    () => ({
      begin: () => {
        dragOrigin.current = historyRef.current.present;
      },
      move: (moves: Record<string, XY>) => apply((h) => replace(h, moveNodes(h.present, moves))),
      end: (then?: (g: EditorGraph) => EditorGraph) => {
        const origin = dragOrigin.current;
        dragOrigin.current = null;
        if (!origin) return;
        apply((h) => {
          const next = then ? then(h.present) : h.present;
          return next === origin ? h : commitFrom(h, origin, next);
        });
      },
      active: () => dragOrigin.current !== null,
    }),
    [apply],
  );

  const addOp = useCallback(
    (op: string, at: XY, wire?: Wire) => {
      if (!table[op]) return;
      let newId = "";
      let spliced = false;
      apply((h) => {
        const r = addNode(h.present, op, at, table);
        newId = r.id;
        const g = wire ? spliceNode(r.graph, r.id, wire) : r.graph;
        spliced = g !== r.graph;
        return commit(h, g);
      });
      setSelected(new Set([newId]));
      notify(spliced && wire ? `Added ${op} as ${newId} on the connection ${wire.source} → ${endName(wire.target)}.` : `Added ${op} as ${newId}.`);
      revealNodes([newId]);
    },
    [apply, notify, revealNodes, table],
  );

  const addAtCenter = useCallback(
    (op: string) => {
      const box = canvasRef.current?.getBoundingClientRect();
      const center = box
        ? rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 })
        : { x: 0, y: 0 };
      const jitter = (historyRef.current.present.nodes.length % 6) * 18;
      addOp(op, [center.x - 60 + jitter, center.y - 30 + jitter]);
    },
    [addOp, rf],
  );

  const doUndo = useCallback(() => apply((h) => undo(h)), [apply]);
  const doRedo = useCallback(() => apply((h) => redo(h)), [apply]);

  const selectedOpIds = useCallback(
    () => historyRef.current.present.nodes.filter((n) => selected.has(n.id)).map((n) => n.id),
    [selected],
  );

  const doCopy = useCallback(() => {
    const ids = selectedOpIds();
    const clip = copyNodes(historyRef.current.present, ids);
    if (clip) {
      clipboard = clip;
      notify(`Copied ${ids.length} node${ids.length > 1 ? "s" : ""}.`);
    }
  }, [notify, selectedOpIds]);

  const doPaste = useCallback(() => {
    const clip = clipboard;
    if (!clip) return;
    let ids: string[] = [];
    apply((h) => {
      const r = pasteNodes(h.present, clip, [40, 40]);
      ids = r.ids;
      return commit(h, r.graph);
    });
    setSelected(new Set(ids));
    revealNodes(ids);
    // Paste again further along, like most editors.
    clipboard = {
      nodes: clip.nodes,
      positions: Object.fromEntries(Object.entries(clip.positions).map(([k, [x, y]]) => [k, [x + 40, y + 40] as XY])),
    };
    notify(`Pasted ${ids.length} node${ids.length > 1 ? "s" : ""}.`);
  }, [apply, notify, revealNodes]);

  const deleteNode = useCallback(
    (id: string) => {
      edit((g) => removeNodes(g, [id]));
      setSelected(new Set());
    },
    [edit],
  );

  const autoLayout = useCallback(async () => {
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

  const zoomToFit = useCallback(() => rf.fitView({ padding: 0.15, maxZoom: 1.2, duration: 200 }), [rf]);

  const focusNode = useCallback(
    (id: string) => {
      setSelected(new Set([id]));
      rf.fitView({ nodes: [{ id }], maxZoom: 1.3, duration: 200 });
    },
    [rf],
  );

  const save = useCallback(async () => {
    const g = historyRef.current.present;
    const name = g.name.trim();
    if (!name) {
      notify("Give the layer a name before saving.", "error");
      return;
    }
    const document = toDocument({ ...g, name });
    setSaving(true);
    try {
      const saved = layer ? await api.updateLayer(layer.id, name, document) : await api.createLayer(name, document);
      setLayer(saved);
      setSavedKey(JSON.stringify(document));
      if (g.name !== name) edit((x) => setMeta(x, { name }));
      notify(
        "layout_only" in saved && saved.layout_only
          ? `Saved the layout. The graph is unchanged, so it is still version ${saved.version}.`
          : `Saved ${saved.name} as version ${saved.version}.`,
      );
      if (!layer) navigate(`/editor/${saved.id}/`, { replace: true, state: { session } });
    } catch (e) {
      notify(`Not saved: ${errorMessage(e)}`, "error");
    } finally {
      setSaving(false);
    }
  }, [edit, layer, navigate, notify, session]);

  const checkNumerics = useCallback(async () => {
    setProbing(true);
    setProbeError(null);
    setProbe(null);
    try {
      setProbe(await api.numericCheck(toDocument(historyRef.current.present)));
    } catch (e) {
      setProbeError(errorMessage(e));
    } finally {
      setProbing(false);
    }
  }, []);

  const onRestored = useCallback(
    (l: LayerSaved) => {
      const g = fromDocument({ ...l.document, name: l.name });
      setLayer(l);
      apply((h) => commit(h, g));
      setSavedKey(JSON.stringify(toDocument(g)));
      notify(l.layout_only ? `That version has the same graph; its layout is restored in version ${l.version}.` : `Restored as version ${l.version}.`);
      window.requestAnimationFrame(() => void readableView());
    },
    [apply, notify, readableView],
  );

  // --- keyboard ---------------------------------------------------------------------------
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === "s") {
        e.preventDefault();
        void save();
        return;
      }
      if (isTyping(e.target)) return;
      if (key === "z" && !e.shiftKey) {
        e.preventDefault();
        doUndo();
      } else if ((key === "z" && e.shiftKey) || key === "y") {
        e.preventDefault();
        doRedo();
      } else if (key === "c") {
        doCopy();
      } else if (key === "v") {
        e.preventDefault();
        doPaste();
      } else if (key === "a") {
        e.preventDefault();
        setSelected(new Set(historyRef.current.present.nodes.map((n) => n.id)));
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [doCopy, doPaste, doRedo, doUndo, save]);

  // Warn before leaving with unsaved changes (browser navigation only).
  useEffect(() => {
    if (!dirty) return;
    const onBeforeUnload = (e: BeforeUnloadEvent) => e.preventDefault();
    window.addEventListener("beforeunload", onBeforeUnload);
    return () => window.removeEventListener("beforeunload", onBeforeUnload);
  }, [dirty]);

  const inspected = useMemo(() => {
    const nodeIds = [...selected].filter((id) => id === OUTPUT_KEY || graph.nodes.some((n) => n.id === id));
    return nodeIds.length === 1 ? nodeIds[0] : null;
  }, [graph.nodes, selected]);

  if (loadError)
    return (
      <div className="editor-error">
        <h1>Cannot open this layer</h1>
        <p role="alert" className="error">
          {loadError}
        </p>
        <Link to="/editor/">Start on a blank canvas</Link> or <Link to="/layers/">go to your layers</Link>.
      </div>
    );

  return (
    <div className="editor" aria-busy={!loaded}>
      <h1 className="sr-only">Layer editor</h1>
      <div className="toolbar" role="toolbar" aria-label="Editor actions">
        <div className="toolbar-group">
          <label className="sr-only" htmlFor="layer-name">
            Layer name
          </label>
          <input
            id="layer-name"
            className="name-input"
            aria-label="Layer name"
            value={graph.name}
            maxLength={100}
            placeholder="Layer name"
            onChange={(e) => {
              const name = e.target.value;
              apply((h) => replace(h, setMeta(h.present, { name })));
            }}
            onFocus={() => {
              nameOrigin.current = historyRef.current.present;
            }}
            onBlur={() => {
              // The whole rename is one undo step.
              const origin = nameOrigin.current;
              nameOrigin.current = null;
              if (origin) apply((h) => (h.present.name === origin.name ? h : commitFrom(h, origin, h.present)));
            }}
          />
          <button type="button" className="btn btn-primary" onClick={() => void save()} disabled={saving} aria-label="Save layer" title="Save (Ctrl+S): a new version when the graph changed; the layout alone is saved without one">
            {saving ? "Saving…" : "Save"}
          </button>
          <span className="save-state" aria-live="polite" data-testid="save-state">
            {layer ? (dirty ? `v${layer.version} · unsaved changes` : `saved · v${layer.version}`) : dirty ? "not saved" : ""}
          </span>
        </div>
        <div className="toolbar-group">
          <button type="button" className="btn btn-icon" onClick={doUndo} disabled={!canUndo(history)} aria-label="Undo" title="Undo (Ctrl+Z)">
            ↶
          </button>
          <button type="button" className="btn btn-icon" onClick={doRedo} disabled={!canRedo(history)} aria-label="Redo" title="Redo (Ctrl+Shift+Z)">
            ↷
          </button>
          <button type="button" className="btn" onClick={() => void autoLayout()} aria-label="Automatic layout" title="Lay out left to right">
            Auto layout
          </button>
          <button type="button" className="btn" onClick={zoomToFit} aria-label="Zoom to fit" title="Show the whole graph, however small">
            Fit
          </button>
          <button
            type="button"
            className="btn"
            onClick={toggleMinimap}
            aria-pressed={showMinimap}
            aria-label="Mini map"
            title={showMinimap ? "Hide the mini map (remembered)" : "Show the mini map (remembered)"}
          >
            Mini map
          </button>
        </div>
        <div className="toolbar-group">
          <label className="sr-only" htmlFor="ref-choice">
            Start from a reference layer
          </label>
          <select id="ref-choice" aria-label="Start from a reference layer" value={refChoice} onChange={(e) => setRefChoice(e.target.value)}>
            <option value="">Reference layer…</option>
            {refs.map((r) => (
              <option key={r.slug} value={r.slug}>
                {r.name} ({r.mode})
              </option>
            ))}
          </select>
          <button
            type="button"
            className="btn"
            disabled={!refChoice}
            aria-label="Open the chosen reference layer as a new layer"
            onClick={() => navigate(`/editor/?ref=${encodeURIComponent(refChoice)}`)}
          >
            Open
          </button>
          <Link className="btn" to="/editor/" aria-label="New blank layer">
            New
          </Link>
        </div>
        <div className="toolbar-group">
          <button type="button" className="btn" onClick={() => void checkNumerics()} disabled={probing} aria-label="Check numerics">
            {probing ? "Checking…" : "Check numerics"}
          </button>
          {layer ? (
            <a className="btn" href={api.layerExportUrl(layer.id)} download aria-label="Download as .py" title={dirty ? "Downloads the last saved version" : "PyTorch module"}>
              Download .py
            </a>
          ) : (
            <button type="button" className="btn" disabled aria-label="Download as .py (save first)" title="Save the layer first">
              Download .py
            </button>
          )}
        </div>
      </div>
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
            showMinimap={showMinimap}
          />
          <div className={`notice ${notice ? `notice-${notice.kind}` : "notice-hidden"}`} role="status" aria-live="polite" data-testid="notice">
            {notice?.text}
          </div>
          {loaded && graph.nodes.length === 0 && (
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
            onDelete={deleteNode}
          />
          <NumericsPanel probe={probe} error={probeError} running={probing} />
          {layer && <VersionHistory layerId={layer.id} currentVersion={layer.version} onRestored={onRestored} />}
        </aside>
      </div>
    </div>
  );
}
