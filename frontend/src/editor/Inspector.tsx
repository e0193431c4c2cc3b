/**
 * The right-hand inspector: the layer's own settings (name, eps, momentum)
 * and, for a selected op node, its description, parameters and a keyboard way
 * to wire each input slot and to make it the output.
 */
import { useState } from "react";
import { canConnect, isInputName, OUTPUT_KEY, type EditorGraph } from "./model";
import { INPUTS, type OpTable } from "./opTable";
import type { Validation } from "./validation";

export interface InspectorProps {
  graph: EditorGraph;
  validation: Validation;
  table: OpTable;
  nodeId: string | null;
  onMeta: (meta: { name?: string; eps?: number; momentum?: number }) => void;
  onParam: (id: string, key: string, value: number) => void;
  onSlot: (id: string, slot: number, source: string | null) => void;
  onOutput: (id: string | null) => void;
  onDelete: (id: string) => void;
}

/** A number field that edits a draft and commits valid numbers on blur or Enter. */
function NumberField({
  label,
  value,
  onCommit,
  min,
  max,
  step,
  integer,
}: {
  label: string;
  value: number | undefined;
  onCommit: (v: number) => void;
  min?: number;
  max?: number;
  step?: string;
  integer?: boolean;
}) {
  const [draft, setDraft] = useState(value === undefined ? "" : String(value));
  // A new value from outside (undo, another node) replaces the draft.
  const [shown, setShown] = useState(value);
  if (shown !== value) {
    setShown(value);
    setDraft(value === undefined ? "" : String(value));
  }
  const commit = () => {
    const v = Number(draft);
    if (draft.trim() !== "" && Number.isFinite(v) && (!integer || Number.isInteger(v)) && v !== value) onCommit(v);
    else setDraft(value === undefined ? "" : String(value));
  };
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        value={draft}
        min={min}
        max={max}
        step={step ?? (integer ? "1" : "any")}
        aria-label={label}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === "Enter") commit();
        }}
      />
    </label>
  );
}

export function Inspector({ graph, validation, table, nodeId, onMeta, onParam, onSlot, onOutput, onDelete }: InspectorProps) {
  const node = nodeId ? graph.nodes.find((n) => n.id === nodeId) : undefined;
  const spec = node ? table[node.op] : undefined;
  return (
    <>
      <section className="panel" aria-labelledby="layer-h">
        <h2 id="layer-h" className="panel-title">
          Layer
        </h2>
        <NumberField label="eps" value={graph.eps ?? 1e-5} min={0} max={0.1} onCommit={(eps) => onMeta({ eps })} />
        <NumberField
          label="momentum"
          value={graph.momentum ?? 0.1}
          min={0}
          max={1}
          onCommit={(momentum) => onMeta({ momentum })}
        />
      </section>
      {node && (
        <section className="panel" aria-labelledby="node-h">
          <h2 id="node-h" className="panel-title">
            Node {node.id}: {node.op}
          </h2>
          <p className="muted small">{spec?.description ?? "Unknown op."}</p>
          {validation.dead.has(node.id) && <p className="note">Unused: the output does not use this node, so it is neither computed nor exported.</p>}
          {spec &&
            Object.entries(spec.params).map(([key, p]) => (
              <NumberField
                key={key}
                label={`${key}${p.min !== undefined ? ` (${p.min}–${p.max})` : ""}`}
                value={node.params?.[key] ?? p.default}
                min={p.min}
                max={p.max}
                integer={p.type === "int" || p.type === undefined}
                onCommit={(v) => onParam(node.id, key, v)}
              />
            ))}
          {node.inputs.map((src, slot) => {
            const label = spec?.slots[slot] ?? String(slot + 1);
            const freed = { ...graph, nodes: graph.nodes.map((n) => (n.id === node.id ? { ...n, inputs: n.inputs.map((s, i) => (i === slot ? null : s)) } : n)) };
            const options = [...INPUTS, ...graph.nodes.map((n) => n.id)].filter(
              (id) => id === src || canConnect(freed, id, node.id, slot, table).ok,
            );
            return (
              <label key={slot} className="field">
                <span>Input {label}</span>
                <select
                  aria-label={`Input ${label} of ${node.id}`}
                  value={src ?? ""}
                  onChange={(e) => onSlot(node.id, slot, e.target.value || null)}
                >
                  <option value="">— not connected —</option>
                  {options.map((id) => (
                    <option key={id} value={id}>
                      {isInputName(id) ? `input ${id}` : `${id} (${graph.nodes.find((n) => n.id === id)?.op})`}
                    </option>
                  ))}
                </select>
              </label>
            );
          })}
          <div className="button-row">
            <button
              type="button"
              className="btn"
              onClick={() => onOutput(graph.output === node.id ? null : node.id)}
              aria-pressed={graph.output === node.id}
              aria-label={graph.output === node.id ? `Unset ${node.id} as the output` : `Use ${node.id} as the output`}
            >
              {graph.output === node.id ? "Is the output" : "Use as output"}
            </button>
            <button type="button" className="btn btn-danger" onClick={() => onDelete(node.id)} aria-label={`Delete node ${node.id}`}>
              Delete
            </button>
          </div>
          {(validation.byNode[node.id] ?? []).length > 0 && (
            <ul className="issue-list" aria-label={`Problems and warnings of ${node.id}`}>
              {validation.byNode[node.id].map((i, k) => (
                <li key={k}>{i.message}</li>
              ))}
            </ul>
          )}
        </section>
      )}
      {nodeId === OUTPUT_KEY && (
        <section className="panel" aria-labelledby="out-h">
          <h2 id="out-h" className="panel-title">
            Output
          </h2>
          <label className="field">
            <span>Output node</span>
            <select aria-label="Output node" value={graph.output ?? ""} onChange={(e) => onOutput(e.target.value || null)}>
              <option value="">— none —</option>
              {graph.nodes.map((n) => (
                <option key={n.id} value={n.id}>
                  {n.id} ({n.op})
                </option>
              ))}
            </select>
          </label>
        </section>
      )}
    </>
  );
}
