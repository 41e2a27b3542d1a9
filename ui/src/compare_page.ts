// Compare runs: their metric curves overlaid, the trade-off of any metric
// against energy or time with its Pareto front, parallel coordinates, and
// the params that differ.
import type uPlot from 'uplot';
import { getRun, metricHistory, type Run } from './api';
import { alignSeries, lineChart, type Chart } from './charts';
import { code, colorOf, emptyState, energyCell, energyEstimated, errorBox, fmtEnergy, fmtNumber, h, section, statusBadge } from './dom';
import { isAbort, Lifetime, type Page } from './page';
import { parallelCoordinates } from './parallel';
import { href, setRoute } from './route';
import { setSelected } from './selection';
import { tradeoffView } from './tradeoff';

const CURVE_POINTS = 1000;
const MAX_CURVE_KEYS = 24;

export function comparePage(query: URLSearchParams): Page {
  const life = new Lifetime();
  const ids = [...new Set((query.get('runs') ?? '').split(',').filter(Boolean))];
  const el = h('div', { class: 'compare-page', 'data-testid': 'compare-page' });
  const charts: Chart[] = [];
  life.onEnd(() => charts.forEach((c) => c.destroy()));

  if (ids.length < 2) {
    el.append(
      emptyState(
        'Pick two or more runs to compare.',
        h('span', {}, 'In the ', h('a', { href: '#/' }, 'runs table'), ', tick the runs and press “Compare”.'),
        h('span', {}, 'No runs yet? ', code('wattlab quickstart'), ' trains several models and meters each.'),
      ),
    );
    return { el, dispose: () => life.end() };
  }
  el.append(h('p', { class: 'muted' }, `Loading ${ids.length} runs…`));

  function legend(runs: Run[]): HTMLElement {
    return h(
      'div',
      { class: 'run-legend', 'data-testid': 'compare-legend' },
      ...runs.map((run, i) =>
        h(
          'span',
          { class: 'legend-item' },
          h('span', { class: 'chip', style: `background:${colorOf(i)}` }),
          h('a', { href: href(['runs', run.id]) }, run.name),
          ' ',
          statusBadge(run.status),
          run.metrics.energy_j !== undefined ? h('span', { class: 'muted' }, ' ', energyCell(fmtEnergy(run.metrics.energy_j), energyEstimated(run))) : '',
          h(
            'button',
            {
              type: 'button',
              class: 'link remove',
              title: 'leave this run out',
              onclick: () => {
                setSelected(run.id, false);
                setRoute(['compare'], { runs: ids.filter((x) => x !== run.id).join(',') }, false);
              },
            },
            '×',
          ),
        ),
      ),
    );
  }

  async function curves(runs: Run[], host: HTMLElement): Promise<void> {
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort().slice(0, MAX_CURVE_KEYS);
    const histories = await Promise.all(keys.map((k) => Promise.all(runs.map((r) => (k in r.metrics ? metricHistory(r.id, k, CURVE_POINTS, life.signal) : null)))));
    if (life.ended) return;
    const grid = h('div', { class: 'chart-grid', 'data-testid': 'compare-curves' });
    keys.forEach((key, k) => {
      const present = runs.map((run, i) => ({ run, i, s: histories[k][i] })).filter((x) => x.s && x.s.steps.length >= 2);
      if (present.length === 0) return;
      const data = alignSeries(present.map((x) => ({ xs: x.s!.steps, ys: x.s!.values }))) as uPlot.AlignedData;
      const chart = lineChart({
        title: key,
        testid: `compare-${key}`,
        xLabel: 'step',
        xIntegers: true,
        series: present.map((x) => ({ label: x.run.name, color: colorOf(x.i) })),
        data,
      });
      charts.push(chart);
      grid.append(chart.el);
    });
    host.replaceChildren(grid.childElementCount ? grid : h('p', { class: 'muted' }, 'These runs logged no metric more than once: nothing to draw as a curve.'));
  }

  function paramsDiff(runs: Run[]): HTMLElement {
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.params)))].sort();
    const differing = keys.filter((k) => new Set(runs.map((r) => r.params[k] ?? '')).size > 1);
    const showAll = h('input', { type: 'checkbox' });
    const table = h('div', { class: 'scroll-x' });
    const draw = () => {
      const rows = showAll.checked ? keys : differing;
      table.replaceChildren(
        h(
          'table',
          { class: 'grid-table', 'data-testid': 'params-diff' },
          h('thead', {}, h('tr', {}, h('th', {}, 'param'), ...runs.map((r, i) => h('th', { style: `color:${colorOf(i)}` }, r.name)))),
          h('tbody', {}, ...rows.map((k) => h('tr', { class: differing.includes(k) ? 'differs' : '' }, h('th', {}, k), ...runs.map((r) => h('td', {}, r.params[k] ?? ''))))),
        ),
      );
    };
    showAll.addEventListener('change', draw);
    draw();
    return h('div', {}, h('label', {}, showAll, ` show all ${keys.length} params (${differing.length} differ)`), table);
  }

  function finalMetrics(runs: Run[]): HTMLElement {
    const keys = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))].sort();
    return h(
      'div',
      { class: 'scroll-x' },
      h(
        'table',
        { class: 'grid-table', 'data-testid': 'metrics-diff' },
        h('thead', {}, h('tr', {}, h('th', {}, 'metric (latest)'), ...runs.map((r, i) => h('th', { style: `color:${colorOf(i)}` }, r.name)))),
        h('tbody', {}, ...keys.map((k) => h('tr', {}, h('th', {}, k), ...runs.map((r) => h('td', {}, r.metrics[k] === undefined ? '' : fmtNumber(r.metrics[k])))))),
      ),
    );
  }

  (async () => {
    let runs: Run[];
    try {
      runs = await Promise.all(ids.map((id) => getRun(id, life.signal)));
    } catch (e) {
      if (!isAbort(e)) el.replaceChildren(errorBox(`Cannot load the runs to compare: ${(e as Error).message}`));
      return;
    }
    if (life.ended) return;
    const curvesHost = h('div', {}, h('p', { class: 'muted' }, 'Loading curves…'));
    el.replaceChildren(
      h('h1', {}, `Compare ${runs.length} runs`),
      legend(runs),
      section('Trade-off', tradeoffView(runs, { testid: 'compare-tradeoff' })),
      section('Metric curves', curvesHost),
      section('Parallel coordinates', parallelCoordinates(runs)),
      section('Final metrics', finalMetrics(runs)),
      section('Parameters', paramsDiff(runs)),
    );
    try {
      await curves(runs, curvesHost);
    } catch (e) {
      if (!isAbort(e)) curvesHost.replaceChildren(errorBox(`Cannot load the curves: ${(e as Error).message}`));
    }
  })();

  return { el, dispose: () => life.end() };
}
