/**
 * Undo/redo history of immutable states. Each edit pushes the state it
 * replaced; `replace` changes the present without an undo step (used while a
 * node is being dragged, whose start is recorded once with `commitFrom`).
 */
export interface History<T> {
  past: T[];
  present: T;
  future: T[];
}

export const HISTORY_LIMIT = 200;

export function createHistory<T>(present: T): History<T> {
  return { past: [], present, future: [] };
}

export function commit<T>(h: History<T>, next: T): History<T> {
  if (next === h.present) return h;
  return commitFrom(h, h.present, next);
}

/** Records `origin` as the undo step for `next` (e.g. a drag's starting state). */
export function commitFrom<T>(h: History<T>, origin: T, next: T): History<T> {
  const past = [...h.past, origin];
  if (past.length > HISTORY_LIMIT) past.splice(0, past.length - HISTORY_LIMIT);
  return { past, present: next, future: [] };
}

export function replace<T>(h: History<T>, next: T): History<T> {
  return { ...h, present: next };
}

export function undo<T>(h: History<T>): History<T> {
  if (h.past.length === 0) return h;
  const past = h.past.slice(0, -1);
  return { past, present: h.past[h.past.length - 1], future: [h.present, ...h.future] };
}

export function redo<T>(h: History<T>): History<T> {
  if (h.future.length === 0) return h;
  const [next, ...future] = h.future;
  return { past: [...h.past, h.present], present: next, future };
}

export const canUndo = <T>(h: History<T>) => h.past.length > 0;
export const canRedo = <T>(h: History<T>) => h.future.length > 0;

/** Starts over from `present` (after loading a document). */
export function reset<T>(present: T): History<T> {
  return createHistory(present);
}
