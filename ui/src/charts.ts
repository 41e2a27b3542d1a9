// Time series on canvas (uPlot): a chart fills its container's width, marks
// itself drawn (data-drawn, data-series, data-points, data-drawn-at,
// data-underlay: what the browser tests and the benchmark read), and is
// destroyed with its page.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { colorOf, fmtNumber, h } from './dom';

export interface SeriesSpec {
  label: string;
  color?: string;
  width?: number;
  dash?: number[];
}

export interface ChartSpec {
  title: string;
  testid?: string;
  xLabel: string;
  yLabel?: string;
  height?: number;
  xIsTime?: boolean; // x in seconds since the Unix epoch: time-of-day ticks
  xIntegers?: boolean; // x takes whole values only (steps): no ticks between them
  series: SeriesSpec[];
  data: uPlot.AlignedData;
  // Called with the canvas context before the series are drawn (shading);
  // returns how many things it drew (data-underlay).
  underlay?: (u: uPlot, ctx: CanvasRenderingContext2D) => number;
  // Called after the user selects an x range to zoom into (drag).
  onZoom?: (min: number, max: number) => void;
}

export interface Chart {
  el: HTMLElement;
  plot: uPlot;
  // New data, the axes fitted to it.
  setData(data: uPlot.AlignedData): void;
  destroy(): void;
}

// Tick spacings for whole-number axes: 1, 2, 5, 10, 20, 50, ...
const INTEGER_INCREMENTS = Array.from({ length: 30 }, (_, i) => [1, 2, 5][i % 3] * 10 ** Math.floor(i / 3));

// An axis tick short enough to sit beside its neighbours: 250k, 1.5M.
function compact(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${fmtNumber(v / 1e6)}M`;
  if (abs >= 1e4) return `${fmtNumber(v / 1e3)}k`;
  return fmtNumber(v);
}

function pointCount(data: uPlot.AlignedData): number {
  return data[0]?.length ?? 0;
}

export function lineChart(spec: ChartSpec): Chart {
  const host = h('div', { class: 'chart-host' });
  const el = h('figure', { class: 'chart', 'data-testid': spec.testid }, h('figcaption', {}, spec.title), host);
  const opts: uPlot.Options = {
    width: 400,
    height: spec.height ?? 220,
    scales: { x: { time: spec.xIsTime ?? false } },
    legend: { live: true, show: spec.series.length <= 4 }, // more: the page's own legend names them
    cursor: { drag: { x: true, y: false, setScale: true } },
    axes: [
      {
        label: spec.xLabel,
        labelSize: 18,
        size: 36,
        incrs: spec.xIntegers ? INTEGER_INCREMENTS : undefined,
        values: spec.xIsTime ? undefined : (_u, ticks) => ticks.map(compact),
      },
      { label: spec.yLabel, labelSize: 18, size: 58, values: (_u, ticks) => ticks.map((t) => fmtNumber(t)) },
    ],
    series: [
      { label: spec.xLabel },
      ...spec.series.map((s, i) => ({
        label: s.label,
        stroke: s.color ?? colorOf(i),
        width: s.width ?? 1.5,
        dash: s.dash,
        spanGaps: true,
        points: { show: false },
        value: (_u: uPlot, v: number | null) => (v === null ? '–' : fmtNumber(v)),
      })),
    ],
    hooks: {
      drawClear: spec.underlay ? [(u) => void (el.dataset.underlay = String(spec.underlay!(u, u.ctx)))] : [],
      draw: [
        (u) => {
          el.dataset.drawn = 'true';
          el.dataset.series = String(u.series.length - 1);
          el.dataset.points = String(pointCount(u.data));
          // When it was first drawn, in ms since the page's navigation (the benchmark reads it).
          if (!el.dataset.drawnAt) el.dataset.drawnAt = String(performance.now());
        },
      ],
      setScale: [
        (u, key) => {
          // A range narrower than the data's is the user's drag (setData
          // scales to the data's own range).
          const xs = u.data[0];
          const { min, max } = u.scales.x;
          if (key !== 'x' || !spec.onZoom || !xs.length || min === undefined || max === undefined) return;
          if (min > xs[0] || max < xs[xs.length - 1]) spec.onZoom(min, max);
        },
      ],
    },
  };
  const plot = new uPlot(opts, spec.data, host);
  const resize = new ResizeObserver(() => {
    const width = Math.max(240, Math.floor(host.clientWidth));
    if (width !== plot.width) plot.setSize({ width, height: opts.height });
  });
  resize.observe(host);
  return {
    el,
    plot,
    setData(data) {
      plot.setData(data);
    },
    destroy() {
      resize.disconnect();
      plot.destroy();
    },
  };
}

// Several (x, y) series on one x axis: the union of their x values, each
// series null where it has no point (drawn across the gap).
export function alignSeries(series: { xs: number[]; ys: (number | null)[] }[]): uPlot.AlignedData {
  const xs = [...new Set(series.flatMap((s) => s.xs))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const columns = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    s.xs.forEach((x, i) => (col[index.get(x)!] = s.ys[i]));
    return col;
  });
  return [xs, ...columns] as uPlot.AlignedData;
}
