/**
 * The editor's toolbar: layer name and save, undo and redo, layout and view,
 * starting over from a reference layer or a blank canvas, the numeric check
 * and the .py download.
 */
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { api } from "../api/client";
import { useReferenceLayers } from "../api/queries";
import { setMeta } from "./model";
import { redoable, undoable, useEditorState, type EditorStore } from "./store";

export interface ToolbarProps {
  store: EditorStore;
  dirty: boolean;
  save: () => void;
  saving: boolean;
  onAutoLayout: () => void;
  onFit: () => void;
  showMinimap: boolean;
  onToggleMinimap: () => void;
  onCheckNumerics: () => void;
  probing: boolean;
}

export function Toolbar({ store, dirty, save, saving, onAutoLayout, onFit, showMinimap, onToggleMinimap, onCheckNumerics, probing }: ToolbarProps) {
  const navigate = useNavigate();
  const name = useEditorState(store, (s) => s.history.present.name);
  const layer = useEditorState(store, (s) => s.layer);
  const canUndo = useEditorState(store, undoable);
  const canRedo = useEditorState(store, redoable);
  const refs = useReferenceLayers().data ?? [];
  const [refChoice, setRefChoice] = useState("");

  return (
    <div className="toolbar" role="toolbar" aria-label="Editor actions">
      <div className="toolbar-group">
        <label className="sr-only" htmlFor="layer-name">
          Layer name
        </label>
        <input
          id="layer-name"
          className="name-input"
          aria-label="Layer name"
          value={name}
          maxLength={100}
          placeholder="Layer name"
          onChange={(e) => {
            const value = e.target.value;
            store.dispatch({ type: "gestureMove", fn: (g) => setMeta(g, { name: value }) });
          }}
          // The whole rename is one undo step.
          onFocus={() => store.dispatch({ type: "gestureStart", kind: "rename" })}
          onBlur={() => store.dispatch({ type: "gestureEnd", kind: "rename" })}
        />
        <button type="button" className="btn btn-primary" onClick={save} disabled={saving} aria-label="Save layer" title="Save (Ctrl+S): a new version when the graph changed; the layout alone is saved without one">
          {saving ? "Saving…" : "Save"}
        </button>
        <span className="save-state" aria-live="polite" data-testid="save-state">
          {layer ? (dirty ? `v${layer.version} · unsaved changes` : `saved · v${layer.version}`) : dirty ? "not saved" : ""}
        </span>
      </div>
      <div className="toolbar-group">
        <button type="button" className="btn btn-icon" onClick={() => store.dispatch({ type: "undo" })} disabled={!canUndo} aria-label="Undo" title="Undo (Ctrl+Z)">
          ↶
        </button>
        <button type="button" className="btn btn-icon" onClick={() => store.dispatch({ type: "redo" })} disabled={!canRedo} aria-label="Redo" title="Redo (Ctrl+Shift+Z)">
          ↷
        </button>
        <button type="button" className="btn" onClick={onAutoLayout} aria-label="Automatic layout" title="Lay out left to right">
          Auto layout
        </button>
        <button type="button" className="btn" onClick={onFit} aria-label="Zoom to fit" title="Show the whole graph, however small">
          Fit
        </button>
        <button
          type="button"
          className="btn"
          onClick={onToggleMinimap}
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
        <button type="button" className="btn" onClick={onCheckNumerics} disabled={probing} aria-label="Check numerics">
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
  );
}
