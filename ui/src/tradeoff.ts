// The trade-off view: any metric against energy or time for a set of runs,
// as an SVG scatter with the Pareto front drawn, and the front's runs listed.
import type { Run } from './api';
import { emptyState, energyEstimated, fmtNumber, h, runDurationS, select } from './dom';
import { paretoFront, type ParetoPoint } from './pareto';
import { href } from './route';

const SVG = 'http://www.w3.org/2000/svg';
const WALL_TIME = 'wall time (s)';

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

// A metric's value for a run, or its wall time for WALL_TIME.
function valueOf(run: Run, key: string): number {
  if (key === WALL_TIME) return runDurationS(run);
  return run.metrics[key] ?? NaN;
}

// About `count` round tick values covering [lo, hi].
function niceTicks(lo: number, hi: number, count: number): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Number(t.toPrecision(12)));
  return out;
}

// Keys that are better smaller (losses, errors, energy, time).
function lowerIsBetter(key: string): boolean {
  return /loss|error|energy|time|duration|co2e|_s$|_j$/i.test(key);
}

export interface TradeoffOptions {
  testid: string;
  xKey?: string;
  yKey?: string;
}

export function tradeoffView(runs: Run[], options: TradeoffOptions): HTMLElement {
  const metricKeys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
  const costKeys = [
    ...['energy_j', 'energy_per_image_j', 'train_energy_j', 'co2e_g', 'duration_s'].filter((k) => metricKeys.includes(k)),
    WALL_TIME,
  ];
  const xChoices = [...new Set([...costKeys, ...metricKeys])];
  let xKey = options.xKey && xChoices.includes(options.xKey) ? options.xKey : costKeys[0];
  const preferredY = ['f1_macro', 'accuracy', 'test_loss', 'train_loss'].find((k) => metricKeys.includes(k));
  let yKey = options.yKey && metricKeys.includes(options.yKey) ? options.yKey : preferredY ?? metricKeys[0];
  let maximize = yKey ? !lowerIsBetter(yKey) : true;

  const plotHost = h('div', { class: 'scatter-host' });
  const frontHost = h('div');
  const directionSel = select('better', ['higher', 'lower'], maximize ? 'higher' : 'lower', (v) => {
    maximize = v === 'higher';
    draw();
  }, `${options.testid}-direction`);
  const controls = h(
    'div',
    { class: 'controls' },
    select('cost (x, lower is better)', xChoices, xKey, (v) => {
      xKey = v;
      draw();
    }, `${options.testid}-x`),
    select('metric (y)', metricKeys, yKey ?? '', (v) => {
      yKey = v;
      maximize = !lowerIsBetter(v);
      (directionSel.querySelector('select') as HTMLSelectElement).value = maximize ? 'higher' : 'lower';
      draw();
    }, `${options.testid}-y`),
    directionSel,
  );
  const el = h('div', { class: 'tradeoff', 'data-testid': options.testid }, controls, h('div', { class: 'tradeoff-body' }, plotHost, frontHost));

  function draw(): void {
    if (!yKey) {
      plotHost.replaceChildren(emptyState('These runs have no metrics to plot.', 'Log a correctness metric (accuracy, f1_macro) and energy_j to see the trade-off.'));
      frontHost.replaceChildren();
      return;
    }
    const points: ParetoPoint<Run>[] = runs.map((r) => ({ x: valueOf(r, xKey), y: valueOf(r, yKey!), item: r }));
    const usable = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
    const front = paretoFront(points, maximize);
    const onFront = new Set(front.map((p) => p.item.id));
    el.dataset.points = String(usable.length);
    el.dataset.front = front.map((p) => p.item.name).join('|');

    const W = 640, H = 380, L = 64, R = 16, T = 16, B = 48;
    const xs = usable.map((p) => p.x), ys = usable.map((p) => p.y);
    const pad = (lo: number, hi: number) => (hi > lo ? (hi - lo) * 0.06 : Math.abs(lo) * 0.05 || 1);
    const [x0, x1] = [Math.min(...xs) - pad(Math.min(...xs), Math.max(...xs)), Math.max(...xs) + pad(Math.min(...xs), Math.max(...xs))];
    const [y0, y1] = [Math.min(...ys) - pad(Math.min(...ys), Math.max(...ys)), Math.max(...ys) + pad(Math.min(...ys), Math.max(...ys))];
    const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
    const sy = (y: number) => H - B - ((y - y0) / (y1 - y0)) * (H - T - B);

    const plot = svg('svg', { viewBox: `0 0 ${W} ${H}`, class: 'scatter', role: 'img', 'aria-label': `${yKey} against ${xKey}` });
    for (const t of niceTicks(x0, x1, 6)) {
      plot.append(svg('line', { x1: sx(t), x2: sx(t), y1: T, y2: H - B, class: 'gridline' }), svg('text', { x: sx(t), y: H - B + 16, class: 'tick', 'text-anchor': 'middle' }, fmtNumber(t)));
    }
    for (const t of niceTicks(y0, y1, 5)) {
      plot.append(svg('line', { x1: L, x2: W - R, y1: sy(t), y2: sy(t), class: 'gridline' }), svg('text', { x: L - 6, y: sy(t) + 4, class: 'tick', 'text-anchor': 'end' }, fmtNumber(t)));
    }
    plot.append(
      svg('text', { x: (L + W - R) / 2, y: H - 10, class: 'axis-label', 'text-anchor': 'middle' }, `${xKey} →  (lower is better)`),
      svg('text', { x: 14, y: (T + H - B) / 2, class: 'axis-label', 'text-anchor': 'middle', transform: `rotate(-90 14 ${(T + H - B) / 2})` }, `${yKey} (${maximize ? 'higher' : 'lower'} is better)`),
    );
    // The front as a staircase: everything beyond it is dominated.
    if (front.length > 0) {
      let d = `M${sx(front[0].x)},${sy(front[0].y)}`;
      for (let i = 1; i < front.length; ++i) d += ` H${sx(front[i].x)} V${sy(front[i].y)}`;
      plot.append(svg('path', { d, class: 'front-line', 'data-testid': 'pareto-line' }));
    }
    for (const p of usable) {
      const on = onFront.has(p.item.id);
      const circle = svg(
        'circle',
        { cx: sx(p.x), cy: sy(p.y), r: on ? 5.5 : 4, class: on ? 'pt front' : 'pt', 'data-run': p.item.id },
        svg('title', {}, `${p.item.name}\n${xKey}: ${fmtNumber(p.x)}${energyEstimated(p.item) ? ' (estimated)' : ''}\n${yKey}: ${fmtNumber(p.y)}`),
      );
      circle.addEventListener('click', () => (location.hash = href(['runs', p.item.id])));
      plot.append(circle);
    }
    if (front.length <= 12) {
      for (const p of front) plot.append(svg('text', { x: sx(p.x) + 8, y: sy(p.y) - 6, class: 'pt-label' }, p.item.name));
    }
    plotHost.replaceChildren(
      usable.length ? plot : emptyState(`No run has both ${xKey} and ${yKey}.`, 'Choose other keys above.'),
      usable.length < runs.length ? h('p', { class: 'muted' }, `${runs.length - usable.length} of ${runs.length} runs lack one of the two values and are not shown.`) : '',
    );

    // The front, cheapest first, with what each step up costs.
    const best = front[front.length - 1];
    frontHost.replaceChildren(
      h('h3', {}, `Pareto front: ${front.length} of ${usable.length} runs`),
      h(
        'div',
        { class: 'scroll-x' },
        h(
        'table',
        { class: 'grid-table', 'data-testid': `${options.testid}-front` },
        h('thead', {}, h('tr', {}, h('th', {}, 'run'), h('th', {}, xKey), h('th', {}, yKey), h('th', { title: `${xKey} against the run with the best ${yKey}` }, `${xKey} vs best ${yKey}`))),
        h(
          'tbody',
          {},
          ...front.map((p) =>
            h(
              'tr',
              { 'data-run': p.item.id },
              h('td', {}, h('a', { href: href(['runs', p.item.id]) }, p.item.name)),
              h('td', {}, `${energyEstimated(p.item) && xKey !== WALL_TIME ? '≈' : ''}${fmtNumber(p.x)}`),
              h('td', {}, fmtNumber(p.y)),
              h('td', {}, p === best ? 'best' : best && best.x > 0 ? `${fmtNumber((100 * (best.x - p.x)) / best.x)} % less` : ''),
            ),
          ),
        ),
      ),
      ),
    );
  }
  draw();
  return el;
}
