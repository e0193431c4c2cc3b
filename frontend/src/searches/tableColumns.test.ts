import { describe, expect, it } from "vitest";
import { allColumns, gridTemplate, loadHidden, saveHidden, visibleColumns } from "./tableColumns";

describe("candidate table columns", () => {
  it("has one score column per architecture, between mean and mutation", () => {
    expect(allColumns(["resnet50", "mobilenetv2"]).map((c) => c.key)).toEqual([
      "id",
      "status",
      "mean_score",
      "arch:resnet50",
      "arch:mobilenetv2",
      "mutation",
      "parent_id",
      "worker",
      "formula",
    ]);
  });

  it("hides what the user hid, never the id", () => {
    const cols = visibleColumns(["a"], new Set(["worker", "arch:a", "id"]));
    expect(cols.map((c) => c.key)).toEqual(["id", "status", "mean_score", "mutation", "parent_id", "formula"]);
  });

  it("makes a grid with the selection box first and a stretching last column", () => {
    expect(gridTemplate(visibleColumns([], new Set(["status", "mean_score", "mutation", "parent_id", "worker"])))).toBe(
      "28px 64px minmax(200px, 1fr)",
    );
    expect(gridTemplate(visibleColumns([], new Set(["formula", "status", "mean_score", "mutation", "parent_id"])))).toBe(
      "28px 64px 110px 1fr",
    );
  });

  it("remembers hidden columns, and survives bad storage", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    saveHidden(storage, new Set(["worker", "arch:a"]));
    expect([...loadHidden(storage)]).toEqual(["arch:a", "worker"]);
    store.set("lab.candidateTable.hidden", "{not json");
    expect(loadHidden(storage).size).toBe(0);
    expect(loadHidden(undefined).size).toBe(0);
  });
});
