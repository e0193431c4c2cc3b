/**
 * Automatic layout with ELK (layered, left to right). elkjs is loaded on first
 * use so it stays out of the main bundle.
 */
import { modelKeyOf } from "./flow";
import type { XY } from "./model";

export interface LayoutBox {
  id: string;
  width: number;
  height: number;
}

export async function elkLayout(boxes: LayoutBox[], edges: Array<{ source: string; target: string }>): Promise<Record<string, XY>> {
  const { default: ELK } = await import("elkjs/lib/elk.bundled.js");
  const elk = new ELK();
  const ids = new Set(boxes.map((b) => b.id));
  const result = await elk.layout({
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "RIGHT",
      "elk.layered.spacing.nodeNodeBetweenLayers": "70",
      "elk.spacing.nodeNode": "36",
      "elk.layered.nodePlacement.strategy": "BRANDES_KOEPF",
      "elk.layered.crossingMinimization.semiInteractive": "true",
    },
    children: boxes.map((b) => ({ id: b.id, width: b.width, height: b.height })),
    edges: edges
      .filter((e) => ids.has(e.source) && ids.has(e.target))
      .map((e, i) => ({ id: `e${i}`, sources: [e.source], targets: [e.target] })),
  });
  const positions: Record<string, XY> = {};
  for (const child of result.children ?? []) positions[modelKeyOf(child.id)] = [child.x ?? 0, child.y ?? 0];
  return positions;
}
