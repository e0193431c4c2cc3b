/**
 * The op palette, built from the server's registry and grouped as inputs,
 * element-wise ops and aggregations. Drag an op onto the canvas, or press
 * Enter / click to add it at the centre of the view.
 */
import { useMemo, useState, type DragEvent } from "react";
import type { OpSpec } from "../api/types";
import { OP_MIME } from "./Canvas";
import { CATEGORY_LABEL, CATEGORY_ORDER, INPUT_DESCRIPTIONS, INPUTS, type OpTable } from "./opTable";

export function Palette({ table, onAdd, source }: { table: OpTable; onAdd: (op: string) => void; source: "server" | "built-in" }) {
  const [filter, setFilter] = useState("");
  const groups = useMemo(() => {
    const f = filter.trim().toLowerCase();
    const byCat = new Map<string, OpSpec[]>();
    for (const op of Object.values(table)) {
      if (f && !op.name.includes(f) && !op.description.toLowerCase().includes(f)) continue;
      const list = byCat.get(op.category) ?? [];
      list.push(op);
      byCat.set(op.category, list);
    }
    const cats = [...byCat.keys()].sort((a, b) => {
      const ia = CATEGORY_ORDER.indexOf(a);
      const ib = CATEGORY_ORDER.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
    return cats.map((c) => [c, byCat.get(c)!] as const);
  }, [table, filter]);

  const onDragStart = (e: DragEvent, op: string) => {
    e.dataTransfer.setData(OP_MIME, op);
    e.dataTransfer.setData("text/plain", op);
    e.dataTransfer.effectAllowed = "copy";
  };

  return (
    <aside className="palette" aria-label="Op palette">
      <div className="panel-title">Ops</div>
      <input
        type="search"
        className="palette-filter"
        placeholder="Filter ops…"
        aria-label="Filter ops"
        value={filter}
        onChange={(e) => setFilter(e.target.value)}
      />
      <section aria-labelledby="pal-inputs">
        <h3 id="pal-inputs" className="palette-group">
          {CATEGORY_LABEL.input}
        </h3>
        <ul className="palette-list">
          {INPUTS.map((name) => (
            <li key={name} className="palette-input" title={INPUT_DESCRIPTIONS[name]}>
              <span className="palette-op cat-input">{name}</span>
              <span className="palette-desc">{INPUT_DESCRIPTIONS[name]}</span>
            </li>
          ))}
        </ul>
        <p className="palette-note">Always on the canvas: drag from their handles.</p>
      </section>
      {groups.map(([cat, ops]) => (
        <section key={cat} aria-labelledby={`pal-${cat}`}>
          <h3 id={`pal-${cat}`} className="palette-group">
            {CATEGORY_LABEL[cat] ?? cat}
          </h3>
          <ul className="palette-list">
            {ops.map((op) => (
              <li key={op.name}>
                <button
                  type="button"
                  className={`palette-item cat-${op.category}`}
                  draggable
                  onDragStart={(e) => onDragStart(e, op.name)}
                  onClick={() => onAdd(op.name)}
                  aria-label={`Add ${op.name}: ${op.description}`}
                  title={`${op.description}${op.arity === 2 ? " (2 inputs)" : ""}. Drag onto the canvas, or press Enter to add.`}
                  data-op={op.name}
                >
                  <span className="palette-op">{op.name}</span>
                  <span className="palette-desc">{op.description}</span>
                </button>
              </li>
            ))}
          </ul>
        </section>
      ))}
      <p className="palette-note muted">Op table: {source === "server" ? "from the server" : "built-in (server not reached)"}</p>
    </aside>
  );
}
