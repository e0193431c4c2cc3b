/**
 * The editor's one store: a pure reducer over the pure model (./model) and
 * undo history (./history), and a tiny subscribable holder around it.
 *
 * The holder applies an action at once (not at the next render, as a React
 * state updater would), so a handler can read what it just did: the ids of
 * the nodes an add or a paste created, for selecting and messages.
 */
import { useSyncExternalStore } from "react";
import type { LayerDetail, LayerSaved } from "../api/types";
import { canRedo, canUndo, commit, commitFrom, createHistory, redo, replace, undo, type History } from "./history";
import {
  addNode,
  emptyGraph,
  fromDocument,
  pasteNodes,
  removeNodes,
  setMeta,
  spliceNode,
  toDocument,
  type Clipboard,
  type EditorGraph,
  type Wire,
  type XY,
} from "./model";
import type { OpTable } from "./opTable";

/** The saved layer being edited (what create, update and restore answer). */
export type SavedLayer = LayerDetail | LayerSaved;

/** A gesture that becomes one undo step when it ends: a node drag or a rename. */
export type GestureKind = "drag" | "rename";

export interface EditorState {
  history: History<EditorGraph>;
  selected: Set<string>;
  /** The saved layer, or null before the first save. */
  layer: SavedLayer | null;
  /** JSON of the document last saved or loaded from a saved layer; null if there is none. */
  savedKey: string | null;
  /** Whether the starting graph is in. */
  loaded: boolean;
  /** Where each gesture in progress started (its undo point), or null. */
  gestures: Record<GestureKind, EditorGraph | null>;
  /** The ids the last add or paste created (already selected). */
  created: string[];
  /** Whether the last add was spliced into a connection. */
  spliced: boolean;
}

export type EditorAction =
  | { type: "loaded"; graph: EditorGraph; layer: SavedLayer | null }
  /** One undoable edit of the present graph. */
  | { type: "edit"; fn: (g: EditorGraph) => EditorGraph }
  | { type: "undo" }
  | { type: "redo" }
  | { type: "select"; ids: Set<string> | ((prev: Set<string>) => Set<string>) }
  | { type: "selectAll" }
  | { type: "gestureStart"; kind: GestureKind }
  /** A change inside a gesture: no undo step of its own. */
  | { type: "gestureMove"; fn: (g: EditorGraph) => EditorGraph }
  /** Ends the gesture: `then` runs on the result in the same undo step. */
  | { type: "gestureEnd"; kind: GestureKind; then?: (g: EditorGraph) => EditorGraph }
  | { type: "add"; op: string; at: XY; table: OpTable; wire?: Wire }
  | { type: "paste"; clip: Clipboard; offset: XY }
  | { type: "deleteNode"; id: string }
  /** A save answered: `documentKey` is the JSON sent; `rename` the trimmed name, if trimming changed it. */
  | { type: "saved"; layer: SavedLayer; documentKey: string; rename?: string }
  /** A version was restored on the server: it is the graph now, one undo step. */
  | { type: "restored"; layer: SavedLayer };

export function initialEditorState(): EditorState {
  return {
    history: createHistory(emptyGraph()),
    selected: new Set(),
    layer: null,
    savedKey: null,
    loaded: false,
    gestures: { drag: null, rename: null },
    created: [],
    spliced: false,
  };
}

const keyOf = (g: EditorGraph) => JSON.stringify(toDocument(g));

function withHistory(s: EditorState, history: History<EditorGraph>): EditorState {
  return history === s.history ? s : { ...s, history };
}

export function editorReducer(s: EditorState, a: EditorAction): EditorState {
  const h = s.history;
  switch (a.type) {
    case "loaded":
      return {
        ...s,
        history: createHistory(a.graph),
        layer: a.layer,
        savedKey: a.layer ? keyOf(a.graph) : null,
        loaded: true,
      };
    case "edit":
      return withHistory(s, commit(h, a.fn(h.present)));
    case "undo":
      return withHistory(s, undo(h));
    case "redo":
      return withHistory(s, redo(h));
    case "select": {
      const selected = typeof a.ids === "function" ? a.ids(s.selected) : a.ids;
      return selected === s.selected ? s : { ...s, selected };
    }
    case "selectAll":
      return { ...s, selected: new Set(h.present.nodes.map((n) => n.id)) };
    case "gestureStart":
      return { ...s, gestures: { ...s.gestures, [a.kind]: h.present } };
    case "gestureMove":
      return withHistory(s, replace(h, a.fn(h.present)));
    case "gestureEnd": {
      const origin = s.gestures[a.kind];
      if (!origin) return s;
      const next = a.then ? a.then(h.present) : h.present;
      // A drag counts if anything moved; a rename only if the name differs in the end.
      const changed = a.kind === "rename" ? next.name !== origin.name : next !== origin;
      const history = changed ? commitFrom(h, origin, next) : next === h.present ? h : replace(h, next);
      return { ...s, gestures: { ...s.gestures, [a.kind]: null }, history };
    }
    case "add": {
      if (!a.table[a.op]) return s;
      const r = addNode(h.present, a.op, a.at, a.table);
      const g = a.wire ? spliceNode(r.graph, r.id, a.wire) : r.graph;
      return { ...s, history: commit(h, g), selected: new Set([r.id]), created: [r.id], spliced: g !== r.graph };
    }
    case "paste": {
      const r = pasteNodes(h.present, a.clip, a.offset);
      return { ...s, history: commit(h, r.graph), selected: new Set(r.ids), created: r.ids, spliced: false };
    }
    case "deleteNode":
      return { ...s, history: commit(h, removeNodes(h.present, [a.id])), selected: new Set() };
    case "saved": {
      const history = a.rename !== undefined ? commit(h, setMeta(h.present, { name: a.rename })) : h;
      return { ...s, history, layer: a.layer, savedKey: a.documentKey };
    }
    case "restored": {
      const g = fromDocument({ ...a.layer.document, name: a.layer.name });
      return { ...s, history: commit(h, g), layer: a.layer, savedKey: keyOf(g) };
    }
  }
}

// --- derived -------------------------------------------------------------------------------

/** Unsaved changes: a saved layer whose document differs, or a new layer with nodes. */
export function isDirty(s: EditorState, docKey: string): boolean {
  return s.savedKey === null ? s.history.present.nodes.length > 0 : s.savedKey !== docKey;
}

export const undoable = (s: EditorState) => canUndo(s.history);
export const redoable = (s: EditorState) => canRedo(s.history);

// --- the holder ----------------------------------------------------------------------------

export interface EditorStore {
  getState: () => EditorState;
  dispatch: (action: EditorAction) => EditorState;
  subscribe: (listener: () => void) => () => void;
}

export function createEditorStore(state: EditorState = initialEditorState()): EditorStore {
  const listeners = new Set<() => void>();
  return {
    getState: () => state,
    dispatch: (action) => {
      const next = editorReducer(state, action);
      if (next !== state) {
        state = next;
        for (const l of listeners) l();
      }
      return state;
    },
    subscribe: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The store's state (or a part of it: `select` must return a stable value for unchanged state). */
export function useEditorState<T = EditorState>(store: EditorStore, select?: (s: EditorState) => T): T {
  const get = () => (select ? select(store.getState()) : (store.getState() as T));
  return useSyncExternalStore(store.subscribe, get, get);
}
