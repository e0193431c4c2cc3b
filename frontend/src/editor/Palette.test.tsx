import { cleanup, fireEvent, render, screen, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { normalizeOpRegistry } from "../api/registry";
import { BUILTIN_TABLE, mergeRegistry } from "./opTable";
import { Palette } from "./Palette";

afterEach(cleanup);

describe("Palette", () => {
  it("groups ops as inputs, element-wise and aggregations, each with its description", () => {
    render(<Palette table={BUILTIN_TABLE} onAdd={() => undefined} source="built-in" />);
    const headings = screen.getAllByRole("heading", { level: 3 }).map((h) => h.textContent);
    expect(headings).toEqual(["Inputs", "Element-wise", "Aggregations"]);
    const agg = screen.getByRole("heading", { name: "Aggregations" }).closest("section")!;
    expect(within(agg).getAllByRole("button")).toHaveLength(12);
    expect(screen.getByRole("button", { name: "Add mul: a * b" })).toBeTruthy();
  });

  it("adds an op on click or Enter and filters by name or description", () => {
    const onAdd = vi.fn();
    render(<Palette table={BUILTIN_TABLE} onAdd={onAdd} source="built-in" />);
    fireEvent.click(screen.getByRole("button", { name: /^Add sigmoid/ }));
    expect(onAdd).toHaveBeenCalledWith("sigmoid");
    fireEvent.change(screen.getByRole("searchbox", { name: "Filter ops" }), { target: { value: "InstanceNorm" } });
    expect(screen.getAllByRole("button").map((b) => b.getAttribute("data-op"))).toEqual([
      "instance_mean",
      "instance_sqmean",
      "instance_var",
    ]);
  });

  it("is built from the server's registry when it has one", () => {
    const reg = normalizeOpRegistry({
      ops: [
        { name: "add", arity: 2, category: "elementwise", description: "sum from the server", params: {} },
        { name: "group_var", arity: 1, category: "aggregation", description: "gv", params: { groups: { type: "int", min: 1, max: 1024, default: 32 } } },
      ],
    });
    const table = mergeRegistry(reg);
    expect(table.group_var.params.groups.default).toBe(32);
    render(<Palette table={table} onAdd={() => undefined} source="server" />);
    expect(screen.getByRole("button", { name: "Add add: sum from the server" })).toBeTruthy();
    expect(screen.getAllByRole("button")).toHaveLength(2);
  });
});
