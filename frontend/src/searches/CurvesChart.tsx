/**
 * Training curves of one candidate: validation accuracy (and loss on a
 * second axis) against step, one line per architecture.
 */

import { useMemo } from "react";
import type { CurvePoint } from "../api/types";
import { useChart, type ChartOption } from "./charts";

export function CurvesChart({ curves }: { curves: Record<string, CurvePoint[]> }) {
  const archs = Object.keys(curves);
  const option = useMemo<ChartOption>(
    () => ({
      animation: false,
      grid: { left: 52, right: 52, top: 32, bottom: 36 },
      legend: { top: 0, type: "scroll" },
      tooltip: { trigger: "axis" },
      xAxis: { type: "value", name: "step", nameLocation: "middle", nameGap: 24 },
      yAxis: [
        { type: "value", name: "accuracy", min: 0, max: 1 },
        { type: "value", name: "loss", scale: true, splitLine: { show: false } },
      ],
      series: Object.keys(curves).flatMap((arch) => [
        {
          name: `${arch} accuracy`,
          type: "line",
          showSymbol: false,
          data: curves[arch].filter((p) => p.accuracy !== null).map((p) => [p.step, p.accuracy]),
        },
        {
          name: `${arch} loss`,
          type: "line",
          yAxisIndex: 1,
          showSymbol: false,
          lineStyle: { type: "dashed", width: 1 },
          data: curves[arch].filter((p) => p.loss !== null).map((p) => [p.step, p.loss]),
        },
      ]),
    }),
    [curves],
  );
  const ref = useChart(option);
  if (archs.length === 0) return <p className="muted">No training curves recorded.</p>;
  return <div ref={ref} className="chart" role="img" aria-label={`Training curves for ${archs.join(", ")}`} />;
}
