/** Words for a version's changes, shared by the history list and the version dialog. */
import type { LayerVersion } from "../api/types";

/** One line above the list of changes: what the version is relative to the one before. */
export function changeHeadline(v: Pick<LayerVersion, "version" | "changes">): string {
  const { from_version: from, same_function: same, items } = v.changes;
  if (from === null) return "First version";
  if (items.length === 0) return `Same graph as v${from}`;
  const n = `${items.length} change${items.length > 1 ? "s" : ""} since v${from}`;
  return same ? `${n}, same function` : n;
}

/** Nodes a version added or changed (for outlining in its graph); removed ones are gone. */
export function touchedNodes(v: Pick<LayerVersion, "changes">): Set<string> {
  return new Set(
    v.changes.items.filter((c) => c.node && c.kind !== "node_removed").map((c) => c.node as string),
  );
}
