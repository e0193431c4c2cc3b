/**
 * The candidate table's columns: which exist for a search (one per
 * architecture), which the user has hidden, and the CSS grid they make.
 * The id and the selection box always show.
 */

export type ColumnKey = "id" | "status" | "mean_score" | "mutation" | "parent_id" | "worker" | "formula" | `arch:${string}`;

export interface Column {
  key: ColumnKey;
  label: string;
  width: string;
  num?: boolean;
  sortable: boolean;
}

export const ALWAYS_SHOWN: ReadonlySet<ColumnKey> = new Set<ColumnKey>(["id"]);
const SELECT_WIDTH = "28px";

/** Every column a search's table can show, in order. */
export function allColumns(architectures: readonly string[]): Column[] {
  return [
    { key: "id", label: "#", width: "64px", sortable: true },
    { key: "status", label: "Status", width: "150px", sortable: true },
    { key: "mean_score", label: "Mean", width: "70px", num: true, sortable: true },
    ...architectures.map((a) => ({ key: `arch:${a}` as ColumnKey, label: a, width: "112px", num: true, sortable: true })),
    { key: "mutation", label: "Mutation", width: "80px", sortable: true },
    { key: "parent_id", label: "Parent", width: "64px", sortable: true },
    { key: "worker", label: "Worker", width: "110px", sortable: true },
    { key: "formula", label: "Formula / progress", width: "minmax(200px, 1fr)", sortable: false },
  ];
}

/** The columns shown: all but the hidden ones (never the id). */
export function visibleColumns(architectures: readonly string[], hidden: ReadonlySet<string>): Column[] {
  return allColumns(architectures).filter((c) => ALWAYS_SHOWN.has(c.key) || !hidden.has(c.key));
}

/** The rows' CSS grid: the selection box, then the shown columns (the last one stretches). */
export function gridTemplate(columns: readonly Column[]): string {
  const widths = columns.map((c) => c.width);
  if (!columns.some((c) => c.width.includes("fr"))) widths.push("1fr");
  return [SELECT_WIDTH, ...widths].join(" ");
}

const STORAGE_KEY = "lab.candidateTable.hidden";

/** Hidden columns remembered in this browser (bad or missing storage: none hidden). */
export function loadHidden(storage: Pick<Storage, "getItem"> | undefined): Set<string> {
  try {
    const parsed: unknown = JSON.parse(storage?.getItem(STORAGE_KEY) ?? "[]");
    return new Set(Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === "string") : []);
  } catch {
    return new Set();
  }
}

export function saveHidden(storage: Pick<Storage, "setItem"> | undefined, hidden: ReadonlySet<string>): void {
  try {
    storage?.setItem(STORAGE_KEY, JSON.stringify([...hidden].sort()));
  } catch {
    /* private mode or full: the choice lasts for this page only */
  }
}
