import { describe, expect, it } from "vitest";
import { changeHeadline, touchedNodes } from "./versionText";

const v = (from: number | null, same: boolean, kinds: Array<[string, string | null]>) => ({
  version: 2,
  changes: {
    from_version: from,
    same_function: same,
    items: kinds.map(([kind, node]) => ({ kind, node, text: kind }) as never),
  },
});

describe("version change words", () => {
  it("says first, unchanged, how many changes, and when the function stayed the same", () => {
    expect(changeHeadline(v(null, false, []))).toBe("First version");
    expect(changeHeadline(v(1, true, []))).toBe("Same graph as v1");
    expect(changeHeadline(v(1, false, [["node_added", "n7"]]))).toBe("1 change since v1");
    expect(changeHeadline(v(3, true, [["renamed", null], ["node_added", "n9"]]))).toBe("2 changes since v3, same function");
  });

  it("outlines added and changed nodes, not removed ones", () => {
    const t = touchedNodes(v(1, false, [["node_added", "a"], ["node_removed", "b"], ["op_changed", "c"], ["renamed", null]]));
    expect([...t].sort()).toEqual(["a", "c"]);
  });
});
