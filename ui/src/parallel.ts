// Parallel coordinates over params and metrics: one vertical axis per
// chosen key (numeric keys scaled linearly, others as ordered categories),
// one line per run, in the run's colour.
import type { Run } from './api';
import { colorOf, fmtNumber, h } from './dom';

const SVG = 'http://www.w3.org/2000/svg';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

interface Dimension {
  id: string; // "params.model", "metrics.energy_j"
  label: string;
  value(run: Run): string | number | undefined;
}

function dimensionsOf(runs: Run[]): Dimension[] {
  const params = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
  const metrics = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  return [
    ...params.map((k) => ({ id: `params.${k}`, label: k, value: (r: Run) => r.params[k] })),
    ...metrics.map((k) => ({ id: `metrics.${k}`, label: k, value: (r: Run) => r.metrics[k] })),
  ];
}

// Params whose value differs between runs, then the usual outcome metrics.
function defaultDimensions(runs: Run[], all: Dimension[]): string[] {
  const varying = all.filter((d) => d.id.startsWith('params.') && new Set(runs.map((r) => d.value(r))).size > 1).slice(0, 5);
  const outcomes = ['accuracy', 'f1_macro', 'energy_j', 'energy_per_image_j', 'duration_s'].map((k) => `metrics.${k}`).filter((id) => all.some((d) => d.id === id));
  const ids = [...varying.map((d) => d.id), ...outcomes];
  return ids.length >= 2 ? ids : all.slice(0, 6).map((d) => d.id);
}

export function parallelCoordinates(runs: Run[], colorOfRun: (run: Run) => string = (r) => colorOf(runs.indexOf(r))): HTMLElement {
  const all = dimensionsOf(runs);
  let chosen = defaultDimensions(runs, all);
  const plotHost = h('div', { class: 'parallel-host' });
  const picker = h('details', { class: 'axis-picker' }, h('summary', {}, 'Axes'));
  const el = h('div', { class: 'parallel', 'data-testid': 'parallel' }, picker, plotHost);

  const pickerBody = h('div', { class: 'picker-grid' });
  for (const d of all) {
    const box = h('input', { type: 'checkbox', checked: chosen.includes(d.id) });
    box.addEventListener('change', () => {
      chosen = box.checked ? [...chosen, d.id] : chosen.filter((x) => x !== d.id);
      draw();
    });
    pickerBody.append(h('label', {}, box, ` ${d.id}`));
  }
  picker.append(pickerBody);

  function draw(): void {
    const dims = chosen.map((id) => all.find((d) => d.id === id)!).filter(Boolean);
    if (dims.length < 2) {
      plotHost.replaceChildren(h('p', { class: 'muted' }, 'Choose two or more axes.'));
      return;
    }
    const W = Math.max(640, dims.length * 140), H = 340, T = 40, B = 28, L = 60, R = 60;
    const x = (i: number) => L + (i * (W - L - R)) / (dims.length - 1);
    // Each axis maps a run's value to a y, or null when the run lacks it.
    const scales = dims.map((d) => {
      const values = runs.map((r) => d.value(r)).filter((v) => v !== undefined && v !== '');
      const numeric = values.every((v) => typeof v === 'number' || (v !== '' && Number.isFinite(Number(v))));
      if (numeric) {
        const nums = values.map(Number).filter(Number.isFinite);
        const lo = Math.min(...nums), hi = Math.max(...nums);
        const y = (v: string | number | undefined) => {
          const n = Number(v);
          if (v === undefined || !Number.isFinite(n)) return null;
          return hi > lo ? H - B - ((n - lo) / (hi - lo)) * (H - T - B) : (T + H - B) / 2;
        };
        return { y, ticks: [[fmtNumber(hi), T], [fmtNumber(lo), H - B]] as [string, number][] };
      }
      const cats = [...new Set(values.map(String))].sort();
      const y = (v: string | number | undefined) => {
        const i = v === undefined ? -1 : cats.indexOf(String(v));
        if (i < 0) return null;
        return cats.length > 1 ? T + (i * (H - T - B)) / (cats.length - 1) : (T + H - B) / 2;
      };
      return { y, ticks: cats.map((c) => [c, y(c)!] as [string, number]) };
    });
    // Drawn at its own size (text stays 11 px); the host scrolls when it is wider.
    const plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, class: 'parallel-svg', role: 'img', 'aria-label': 'parallel coordinates' });
    runs.forEach((run) => {
      let d = '';
      dims.forEach((dim, i) => {
        const y = scales[i].y(dim.value(run));
        if (y === null) return;
        d += `${d ? 'L' : 'M'}${x(i)},${y}`;
      });
      if (d) plot.append(svg('path', { d, class: 'pc-line', stroke: colorOfRun(run), 'data-run': run.id }, svg('title', {}, run.name)));
    });
    dims.forEach((dim, i) => {
      plot.append(
        svg('line', { x1: x(i), x2: x(i), y1: T, y2: H - B, class: 'pc-axis' }),
        svg('text', { x: x(i), y: T - 16, class: 'axis-label', 'text-anchor': 'middle' }, dim.label),
      );
      for (const [label, y] of scales[i].ticks.slice(0, 12)) {
        plot.append(svg('text', { x: x(i) + 5, y: y + 4, class: 'tick pc-tick' }, label));
      }
    });
    plotHost.replaceChildren(plot);
    el.dataset.axes = String(dims.length);
    el.dataset.lines = String(plot.querySelectorAll('path.pc-line').length);
  }
  draw();
  return el;
}
