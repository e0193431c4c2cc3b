/**
 * What the editor does with the canvas's view (React Flow's viewport): the
 * readable opening view, panning new nodes out from under the mini map, fit,
 * the flow position at the canvas's centre, and the remembered mini map switch.
 */
import { useReactFlow } from "@xyflow/react";
import { useCallback, useState, type RefObject } from "react";
import type { XY } from "./model";
import { panClearOf, readableViewport } from "./viewport";

/** Whether the mini map is shown, remembered across visits ("shown" / "hidden"). */
export const MINIMAP_KEY = "lab.editor.minimap";

function storedMinimap(): boolean {
  try {
    return window.localStorage.getItem(MINIMAP_KEY) !== "hidden";
  } catch {
    return true;
  }
}

export function useCanvasView(canvasRef: RefObject<HTMLDivElement | null>) {
  const rf = useReactFlow();

  /** The opening view: the whole graph where it fits at a readable zoom, else its readable left part. */
  const readableView = useCallback(
    async (duration = 0) => {
      await rf.fitView({ padding: 0.1, minZoom: 0.15, maxZoom: 1.2 }); // resolves once nodes are measured
      const box = canvasRef.current?.getBoundingClientRect();
      const nodes = rf.getNodes();
      if (!box || nodes.length === 0) return;
      await rf.setViewport(readableViewport(rf.getNodesBounds(nodes), { width: box.width, height: box.height }), { duration });
    },
    [canvasRef, rf],
  );

  /** Pans new nodes out from under the mini map, so a node dropped in its corner stays in reach. */
  const revealNodes = useCallback(
    (ids: string[]) => {
      window.requestAnimationFrame(() => {
        const wrap = canvasRef.current;
        const map = wrap?.querySelector(".react-flow__minimap")?.getBoundingClientRect();
        if (!wrap || !map) return;
        let dx = 0;
        let dy = 0;
        for (const id of ids) {
          const el = wrap.querySelector(`.react-flow__node[data-id="${CSS.escape(id)}"]`);
          if (!el) continue;
          const r = el.getBoundingClientRect();
          const pan = panClearOf({ x: r.x + dx, y: r.y + dy, width: r.width, height: r.height }, { x: map.x, y: map.y, width: map.width, height: map.height });
          dx += pan.dx;
          dy += pan.dy;
        }
        if (dx || dy) {
          const v = rf.getViewport();
          void rf.setViewport({ x: v.x + dx, y: v.y + dy, zoom: v.zoom }, { duration: 150 });
        }
      });
    },
    [canvasRef, rf],
  );

  const zoomToFit = useCallback(() => rf.fitView({ padding: 0.15, maxZoom: 1.2, duration: 200 }), [rf]);

  const zoomToNode = useCallback((id: string) => rf.fitView({ nodes: [{ id }], maxZoom: 1.3, duration: 200 }), [rf]);

  /** The flow position at the canvas's centre (where the palette's click adds an op). */
  const centre = useCallback((): XY => {
    const box = canvasRef.current?.getBoundingClientRect();
    const c = box ? rf.screenToFlowPosition({ x: box.left + box.width / 2, y: box.top + box.height / 2 }) : { x: 0, y: 0 };
    return [c.x, c.y];
  }, [canvasRef, rf]);

  const [showMinimap, setShowMinimap] = useState(storedMinimap);
  const toggleMinimap = useCallback(() => {
    setShowMinimap((on) => {
      try {
        window.localStorage.setItem(MINIMAP_KEY, on ? "hidden" : "shown");
      } catch {
        /* private mode: the choice lasts for this page only */
      }
      return !on;
    });
  }, []);

  return { readableView, revealNodes, zoomToFit, zoomToNode, centre, showMinimap, toggleMinimap };
}
