/**
 * Pareto front of evaluated candidates for a pair of architectures (both
 * scores maximised), and the 1-D fallback when a search has one architecture.
 */

export interface ScorePoint {
  id: number;
  x: number;
  y: number;
}

/**
 * Ids of the points no other point beats on both axes (ties on both count
 * as one front point each). Returned sorted by x ascending, for drawing.
 */
export function paretoFront(points: readonly ScorePoint[]): ScorePoint[] {
  const sorted = [...points].sort((a, b) => b.x - a.x || b.y - a.y);
  const front: ScorePoint[] = [];
  let bestY = -Infinity;
  let lastX = NaN;
  let lastY = NaN;
  for (const p of sorted) {
    if (p.y > bestY) {
      front.push(p);
      bestY = p.y;
      lastX = p.x;
      lastY = p.y;
    } else if (p.x === lastX && p.y === lastY) {
      front.push(p); // an exact duplicate of a front point is on the front too
    }
  }
  return front.reverse();
}

/** For one architecture: indices of candidates that set a new best score. */
export function runningBest(points: readonly ScorePoint[]): ScorePoint[] {
  const out: ScorePoint[] = [];
  let best = -Infinity;
  for (const p of points) {
    if (p.y > best) {
      best = p.y;
      out.push(p);
    }
  }
  return out;
}
