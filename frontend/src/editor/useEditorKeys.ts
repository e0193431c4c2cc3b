/**
 * Copy and paste, and the editor's keys: Ctrl+Z undo, Ctrl+Shift+Z / Ctrl+Y
 * redo, Ctrl+C / Ctrl+V copy and paste, Ctrl+A select all, Ctrl+S save (also
 * while typing in a field). Delete, Backspace, box select and arrow keys are
 * React Flow's, on the canvas.
 */
import { useCallback, useEffect } from "react";
import { copyNodes, type Clipboard, type XY } from "./model";
import type { EditorStore } from "./store";
import type { Notify } from "./useNotice";

/** Survives page changes inside the app, like a system clipboard would. */
let clipboard: Clipboard | null = null;

const plural = (n: number) => `${n} node${n > 1 ? "s" : ""}`;

function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  if (!el || !el.tagName) return false;
  return ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName) || el.isContentEditable;
}

export function useClipboard(store: EditorStore, notify: Notify, revealNodes: (ids: string[]) => void) {
  const copy = useCallback(() => {
    const { history, selected } = store.getState();
    const ids = history.present.nodes.filter((n) => selected.has(n.id)).map((n) => n.id);
    const clip = copyNodes(history.present, ids);
    if (clip) {
      clipboard = clip;
      notify(`Copied ${plural(ids.length)}.`);
    }
  }, [notify, store]);

  const paste = useCallback(() => {
    const clip = clipboard;
    if (!clip) return;
    const { created: ids } = store.dispatch({ type: "paste", clip, offset: [40, 40] });
    revealNodes(ids);
    // Paste again further along, like most editors.
    clipboard = {
      nodes: clip.nodes,
      positions: Object.fromEntries(Object.entries(clip.positions).map(([k, [x, y]]) => [k, [x + 40, y + 40] as XY])),
    };
    notify(`Pasted ${plural(ids.length)}.`);
  }, [notify, revealNodes, store]);

  return { copy, paste };
}

export function useEditorKeys(
  store: EditorStore,
  actions: { save: () => void; copy: () => void; paste: () => void },
): void {
  const { save, copy, paste } = actions;
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const mod = e.ctrlKey || e.metaKey;
      if (!mod) return;
      const key = e.key.toLowerCase();
      if (key === "s") {
        e.preventDefault();
        save();
        return;
      }
      if (isTyping(e.target)) return;
      if (key === "z" && !e.shiftKey) {
        e.preventDefault();
        store.dispatch({ type: "undo" });
      } else if ((key === "z" && e.shiftKey) || key === "y") {
        e.preventDefault();
        store.dispatch({ type: "redo" });
      } else if (key === "c") {
        copy();
      } else if (key === "v") {
        e.preventDefault();
        paste();
      } else if (key === "a") {
        e.preventDefault();
        store.dispatch({ type: "selectAll" });
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [copy, paste, save, store]);
}
