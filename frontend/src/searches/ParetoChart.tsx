/**
 * Scatter of evaluated candidates for a chosen pair of architectures, with
 * the Pareto front highlighted and connected. With one architecture it plots
 * score against candidate number, and the running best as the "front".
 */

import { useEffect, useMemo, useRef, useState } from "react";
import { rejectionReasons, type SearchState } from "./store";
import { paretoFront, runningBest, type ScorePoint } from "./pareto";
import { useChart, type ChartOption } from "./charts";
import { emptyChartMessage } from "./emptyChart";

interface Props {
  state: SearchState;
  version: number;
  architectures: string[];
  onOpen: (candidateId: number) => void;
  /** Compare the candidates on the front (or the best-so-far line) side by side. */
  onCompare?: (candidateIds: number[]) => void;
}

function pct(v: number): string {
  return `${(v * 100).toFixed(1)}%`;
}

/**
 * `value`, updated at most once per `ms` (trailing): redrawing thousands of
 * points costs tens of milliseconds, so a big chart follows the stream at a
 * calmer pace than the counters and the table.
 */
export function useThrottled<T>(value: T, ms: number): T {
  const [current, setCurrent] = useState(value);
  const last = useRef(0);
  useEffect(() => {
    const wait = Math.max(0, last.current + ms - Date.now());
    const t = setTimeout(() => {
      last.current = Date.now();
      setCurrent(value);
    }, wait);
    return () => clearTimeout(t);
  }, [value, ms]);
  return current;
}

export function ParetoChart({ state, version: liveVersion, architectures, onOpen, onCompare }: Props) {
  const evaluated = state.counts.evaluated ?? 0;
  const version = useThrottled(liveVersion, evaluated > 2000 ? 1000 : evaluated > 300 ? 400 : 0);
  const [xArch, setX] = useState(architectures[0] ?? "");
  const [yArch, setY] = useState(architectures[1] ?? architectures[0] ?? "");
  const single = architectures.length < 2 || xArch === yArch;

  // `version` changes whenever the state (mutated in place) changes, so the memos read it.
  const { points, front } = useMemo(() => {
    void version;
    const pts: ScorePoint[] = [];
    let index = 0;
    for (const id of state.order) {
      const c = state.candidates.get(id);
      index++;
      if (!c || c.status !== "evaluated") continue;
      if (single) {
        const y = c.scores[yArch];
        if (typeof y === "number") pts.push({ id, x: index, y });
      } else {
        const x = c.scores[xArch];
        const y = c.scores[yArch];
        if (typeof x === "number" && typeof y === "number") pts.push({ id, x, y });
      }
    }
    return { points: pts, front: single ? runningBest(pts) : paretoFront(pts) };
  }, [version, xArch, yArch, single, state]);

  // only while nothing is on the chart: what the search is doing instead
  const empty = useMemo(() => {
    void version;
    return points.length === 0
      ? emptyChartMessage(0, {
          status: state.status,
          counts: state.counts,
          reasons: rejectionReasons(state),
          funnel: state.funnel,
        })
      : null;
  }, [version, points.length, state]);

  const rest = useMemo(() => {
    const frontIds = new Set(front.map((p) => p.id));
    return points.filter((p) => !frontIds.has(p.id));
  }, [points, front]);

  const option = useMemo<ChartOption>(() => {
    const large = points.length > 2000;
    return {
      animation: false,
      grid: { left: 56, right: 16, top: 28, bottom: 44 },
      legend: { top: 0, data: ["candidates", single ? "best so far" : "Pareto front"] },
      tooltip: {
        trigger: "item",
        formatter: (p: { data: [number, number, number] }) => {
          const [x, y, id] = p.data;
          return single
            ? `#${id}<br/>${yArch}: ${pct(y)}`
            : `#${id}<br/>${xArch}: ${pct(x)}<br/>${yArch}: ${pct(y)}`;
        },
      },
      xAxis: {
        type: "value",
        name: single ? "candidate" : xArch,
        nameLocation: "middle",
        nameGap: 28,
        scale: true,
        axisLabel: single ? {} : { formatter: (v: number) => pct(v) },
      },
      yAxis: {
        type: "value",
        name: yArch,
        scale: true,
        axisLabel: { formatter: (v: number) => pct(v) },
      },
      series: [
        {
          id: "candidates",
          name: "candidates",
          type: "scatter",
          symbolSize: 7,
          large,
          largeThreshold: 2000,
          progressive: 4000,
          itemStyle: { color: "#8aa4c8", opacity: 0.75 },
          data: rest.map((p) => [p.x, p.y, p.id]),
        },
        {
          id: "front",
          name: single ? "best so far" : "Pareto front",
          type: "line",
          step: single ? "end" : undefined,
          symbol: "circle",
          symbolSize: 10,
          lineStyle: { color: "#d9480f", width: 2 },
          itemStyle: { color: "#d9480f" },
          data: front.map((p) => [p.x, p.y, p.id]),
          z: 5,
        },
      ],
    };
  }, [points, rest, front, single, xArch, yArch]);

  const ref = useChart(option, (p) => {
    // In large mode ECharts may not hand back the datum, so look it up by index.
    const list = p.seriesId === "front" ? front : rest;
    const hit = list[p.dataIndex];
    if (hit) onOpen(hit.id);
  });

  return (
    <section className="card pareto" aria-labelledby="pareto-title">
      <div className="card-head">
        <h2 id="pareto-title">Pareto front</h2>
        {architectures.length > 1 ? (
          <div className="pareto-axes">
            <label>
              x{" "}
              <select aria-label="x architecture" value={xArch} onChange={(e) => setX(e.target.value)}>
                {architectures.map((a) => (
                  <option key={a}>{a}</option>
                ))}
              </select>
            </label>
            <label>
              y{" "}
              <select aria-label="y architecture" value={yArch} onChange={(e) => setY(e.target.value)}>
                {architectures.map((a) => (
                  <option key={a}>{a}</option>
                ))}
              </select>
            </label>
          </div>
        ) : null}
      </div>
      {empty ? (
        <p className="chart-empty" role="status" data-testid="empty-front">
          {empty}
        </p>
      ) : null}
      {/* kept mounted (hidden while empty) so the chart exists when the first point comes */}
      <div
        ref={ref}
        className={`chart${empty ? " is-empty" : ""}`}
        role="img"
        aria-hidden={empty ? true : undefined}
        aria-label={`Scatter of ${points.length} evaluated candidates, ${front.length} on the ${single ? "best-so-far line" : "front"}`}
        data-points={points.length}
        data-front={front.map((p) => p.id).join(",")}
      />
      {empty ? null : (
        <div className="chart-foot">
          <p className="muted small">
            {points.length} evaluated · {front.length} on the {single ? "best-so-far line" : "front"} · click a point to
            open the candidate
          </p>
          {onCompare && front.length > 1 ? (
            <button type="button" className="btn" onClick={() => onCompare(front.map((p) => p.id))}>
              Compare the {single ? "best-so-far line" : "front"} ({front.length})
            </button>
          ) : null}
        </div>
      )}
    </section>
  );
}
