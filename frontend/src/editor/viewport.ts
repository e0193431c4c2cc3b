/**
 * The editor's opening view: as much of the graph as fits at a zoom where node
 * text is readable. Plain math, so it is unit-tested without a browser.
 */

/** Smallest zoom of the opening view: the editor's 12 px node text shows at >= 11 px. */
export const READABLE_ZOOM = 0.95;
/** Largest zoom of the opening view, so a three-node graph is not blown up. */
export const OPENING_MAX_ZOOM = 1.2;

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

/**
 * The viewport that shows `bounds` (flow coordinates) in a `view` (screen
 * pixels): the whole graph, centred, where it fits at `minZoom` or more;
 * otherwise at `minZoom`, starting from its left (the inputs) and top edges,
 * so the rest is one pan away instead of unreadably small.
 */
export function readableViewport(
  bounds: Rect,
  view: { width: number; height: number },
  { padding = 24, minZoom = READABLE_ZOOM, maxZoom = OPENING_MAX_ZOOM } = {},
): Viewport {
  const w = Math.max(1, view.width - 2 * padding);
  const h = Math.max(1, view.height - 2 * padding);
  const fit = Math.min(w / Math.max(1, bounds.width), h / Math.max(1, bounds.height));
  const zoom = Math.min(maxZoom, Math.max(minZoom, fit));
  const along = (start: number, size: number, room: number, full: number) =>
    size * zoom <= room ? (full - size * zoom) / 2 - start * zoom : padding - start * zoom;
  return {
    x: along(bounds.x, bounds.width, w, view.width),
    y: along(bounds.y, bounds.height, h, view.height),
    zoom,
  };
}

/** Screen rectangles overlap (edges touching do not count). */
export function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

/**
 * The smallest pan (screen pixels) that moves `node` clear of `cover` (the
 * mini map in the bottom-right corner) with `margin` to spare: left or up,
 * whichever is shorter. Zero when they do not overlap.
 */
export function panClearOf(node: Rect, cover: Rect, margin = 16): { dx: number; dy: number } {
  if (!overlaps(node, cover)) return { dx: 0, dy: 0 };
  const left = node.x + node.width - cover.x + margin;
  const up = node.y + node.height - cover.y + margin;
  return left <= up ? { dx: -left, dy: 0 } : { dx: 0, dy: -up };
}
