// One run: summary, metric curves, power timeline with its energy windows,
// energy per window and domain, carbon, params, tags, environment and
// artifacts; refreshed every few seconds while the run is RUNNING.
import type uPlot from 'uplot';
import {
  ApiError,
  energyWindows,
  environment,
  getRun,
  metricHistory,
  powerTimeline,
  type EnergyWindow,
  type PowerTimeline,
  type Run,
} from './api';
import { artifactsSection } from './artifacts';
import { lineChart, type Chart } from './charts';
import {
  code,
  emptyState,
  energyCell,
  energyEstimated,
  errorBox,
  fmtDuration,
  fmtEnergy,
  fmtNumber,
  fmtTime,
  h,
  isEnergyKey,
  runDurationS,
  section,
  statusBadge,
} from './dom';
import { isAbort, Lifetime, type Page } from './page';
import { href } from './route';
import { isSelected, setSelected } from './selection';

const METRIC_POINTS = 1500; // per curve: a few per pixel of a half-width chart
const POWER_POINTS = 2400;

// A key/value table.
function kvTable(entries: [string, string][], testid: string): HTMLElement {
  if (entries.length === 0) return h('p', { class: 'muted' }, 'none');
  return h(
    'table',
    { class: 'kv', 'data-testid': testid },
    h('tbody', {}, ...entries.sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v)))),
  );
}

// The phase of an energy window name: "epoch-3/train" -> "train".
function phaseOf(name: string): string {
  const slash = name.lastIndexOf('/');
  return slash < 0 ? name : name.slice(slash + 1);
}

const PHASE_FILL: Record<string, string> = {
  train: 'rgba(37, 99, 235, 0.07)',
  eval: 'rgba(217, 119, 6, 0.13)',
  validate: 'rgba(5, 150, 105, 0.12)',
};

// Shades each energy window (but the whole-run one) under the power curves,
// and names the epochs along the top when there is room. Returns how many
// windows it shaded.
function windowShading(windows: () => EnergyWindow[], t0Ms: number) {
  return (u: uPlot, ctx: CanvasRenderingContext2D) => {
    let shaded = 0;
    const top = u.bbox.top;
    const height = u.bbox.height;
    ctx.save();
    ctx.font = `${Math.round(10 * devicePixelRatio)}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
    for (const w of windows()) {
      if (w.name === 'run') continue;
      const x0 = u.valToPos((w.start_ms - t0Ms) / 1000, 'x', true);
      const x1 = u.valToPos((w.end_ms - t0Ms) / 1000, 'x', true);
      if (x1 < u.bbox.left || x0 > u.bbox.left + u.bbox.width) continue;
      const phase = phaseOf(w.name);
      ctx.fillStyle = PHASE_FILL[phase] ?? 'rgba(100, 116, 139, 0.10)';
      ctx.fillRect(x0, top, Math.max(1, x1 - x0), height);
      ++shaded;
      const label = w.name.split('/')[0];
      if (phase === 'train' && x1 - x0 > ctx.measureText(label).width + 8) {
        ctx.fillStyle = 'rgba(30, 41, 59, 0.65)';
        ctx.fillText(label, x0 + 4, top + 3);
      }
    }
    ctx.restore();
    return shaded;
  };
}

export function runPage(runId: string): Page {
  const life = new Lifetime();
  const el = h('div', { class: 'run-page', 'data-testid': 'run-page' }, h('p', { class: 'muted' }, 'Loading run…'));
  const charts = new Map<string, Chart>(); // metric key (or "power") -> chart
  life.onEnd(() => charts.forEach((c) => c.destroy()));

  let run!: Run; // set by the first refresh(), before anything reads it
  let windows: EnergyWindow[] = [];
  let zoomedPower = false;

  // Stable containers, filled (again) by refresh().
  const header = h('div', { class: 'run-header' });
  const cards = h('div', { class: 'cards' });
  const metricGrid = h('div', { class: 'chart-grid', 'data-testid': 'metric-charts' });
  const metricNote = h('div');
  const finalTable = h('div');
  const powerHost = h('div', { 'data-testid': 'power' });
  const energyHost = h('div', { 'data-testid': 'energy' });
  const paramsHost = h('div');
  const tagsHost = h('div');
  const envHost = h('div');
  const artifactsHost = h('div');

  function drawHeader(): void {
    const box = h('input', { type: 'checkbox', checked: isSelected(run.id) });
    box.addEventListener('change', () => setSelected(run.id, box.checked));
    const live = run.status === 'RUNNING';
    header.replaceChildren(
      h('div', { class: 'crumbs' }, h('a', { href: href([], { exp: run.experimentId }) }, '← runs of this experiment')),
      h(
        'h1',
        {},
        run.name,
        ' ',
        statusBadge(run.status),
        live ? h('span', { class: 'live', 'data-testid': 'live', title: 'refreshed every 2 s while the run is RUNNING' }, '● live') : null,
      ),
      h(
        'div',
        { class: 'meta' },
        h('span', {}, 'id ', code(run.id)),
        h('span', {}, `started ${fmtTime(run.startMs)}`),
        h('span', {}, `${live ? 'running for' : 'took'} ${fmtDuration(runDurationS(run))}`),
        live && run.tags['wattlab.heartbeat_ms']
          ? h('span', { title: 'the trainer sets this tag every 10 s; a run silent for 60 s is marked KILLED' }, `last heartbeat ${fmtDuration((Date.now() - Number(run.tags['wattlab.heartbeat_ms'])) / 1000)} ago`)
          : null,
        h('label', {}, box, ' select for compare'),
      ),
    );
    el.dataset.status = run.status;
  }

  function drawCards(): void {
    const est = energyEstimated(run);
    const m = run.metrics;
    const card = (label: string, value: Node | string, note?: string) =>
      h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), note ? h('div', { class: 'stat-note' }, note) : null);
    const list: HTMLElement[] = [];
    if (m.energy_j !== undefined) list.push(card('Energy', energyCell(fmtEnergy(m.energy_j), est), est ? 'estimated' : 'measured'));
    list.push(card('Duration', fmtDuration(m.duration_s ?? runDurationS(run))));
    if (m.co2e_g !== undefined) {
      const intensity = run.params.carbon_intensity_g_per_kwh;
      const note = intensity ? `at ${fmtNumber(Number(intensity))} g/kWh${run.params.carbon_source ? ` (${run.params.carbon_source})` : ''}${run.params.pue ? `, PUE ${run.params.pue}` : ''}` : undefined;
      list.push(card('Carbon', energyCell(`${fmtNumber(m.co2e_g)} g CO₂e`, est), note));
    }
    if (m.energy_per_image_j !== undefined) list.push(card('Energy per image', energyCell(fmtEnergy(m.energy_per_image_j), est)));
    for (const k of ['accuracy', 'f1_macro']) if (m[k] !== undefined) list.push(card(k, fmtNumber(m[k])));
    cards.replaceChildren(...list);
  }

  // ---- Metric curves ----------------------------------------------------------
  async function drawMetrics(): Promise<void> {
    const keys = Object.keys(run.metrics).sort();
    if (keys.length === 0) {
      metricNote.replaceChildren(emptyState('No metrics logged yet.', h('span', {}, 'A training run logs them per epoch; from Python: ', code('mlflow.log_metric("loss", 0.3, step=1)'))));
      return;
    }
    const histories = await Promise.all(keys.map((k) => metricHistory(run.id, k, METRIC_POINTS, life.signal)));
    if (life.ended) return;
    const finals: [string, string][] = [];
    keys.forEach((key, i) => {
      const s = histories[i];
      if (s.steps.length < 2) {
        finals.push([key, fmtNumber(run.metrics[key])]);
        return;
      }
      const data = [s.steps, s.values] as uPlot.AlignedData;
      const existing = charts.get(key);
      if (existing) existing.setData(data);
      else {
        const chart = lineChart({ title: key, testid: `metric-${key}`, xLabel: 'step',
        xIntegers: true, series: [{ label: key }], data });
        chart.el.dataset.estimated = String(isEnergyKey(key) && energyEstimated(run));
        charts.set(key, chart);
        metricGrid.append(chart.el);
      }
    });
    metricNote.replaceChildren();
    finalTable.replaceChildren(finals.length ? h('div', {}, h('h3', {}, 'Single values'), kvTable(finals, 'final-metrics')) : '');
  }

  // ---- Power and energy ---------------------------------------------------------
  const t0 = () => run.startMs;

  function powerData(p: PowerTimeline): uPlot.AlignedData {
    return [p.timestampsMs.map((t) => (t - t0()) / 1000), ...p.powerW] as uPlot.AlignedData;
  }

  async function drawPower(): Promise<void> {
    if (zoomedPower) return; // the user is looking at a range: leave it
    const p = await powerTimeline(run.id, POWER_POINTS, undefined, life.signal);
    if (life.ended) return;
    if (p.timestampsMs.length === 0) {
      powerHost.replaceChildren(
        emptyState(
          'No power samples for this run.',
          h('span', {}, 'Runs metered by wattlab have them: ', code('wattlab train … --sample-interval-ms 100'), ' or ', code('wattlab measure --interval-ms 10 -- CMD')),
        ),
      );
      return;
    }
    const existing = charts.get('power');
    if (existing && existing.plot.series.length - 1 === p.domains.length) {
      existing.setData(powerData(p));
      return;
    }
    existing?.destroy();
    const reset = h('button', { type: 'button', hidden: true }, 'Show the whole run');
    const chart = lineChart({
      title: `Power per domain (W)${energyEstimated(run) ? ' — estimated' : ''}`,
      testid: 'power-chart',
      xLabel: 's since start',
      yLabel: 'W',
      height: 260,
      series: p.domains.map((d) => ({ label: d })),
      data: powerData(p),
      underlay: windowShading(() => windows, t0()),
      onZoom: async (min, max) => {
        // Fetch the range at full resolution (up to POWER_POINTS samples).
        zoomedPower = true;
        reset.hidden = false;
        const range = { fromMs: Math.floor(t0() + min * 1000), toMs: Math.ceil(t0() + max * 1000) };
        const zoomed = await powerTimeline(run.id, POWER_POINTS, range, life.signal);
        if (!life.ended && zoomed.domains.length === p.domains.length) chart.setData(powerData(zoomed));
      },
    });
    reset.addEventListener('click', async () => {
      zoomedPower = false;
      reset.hidden = true;
      await drawPower();
    });
    charts.set('power', chart);
    powerHost.replaceChildren(
      chart.el,
      h(
        'div',
        { class: 'legend-note' },
        h('span', { class: 'swatch train' }), 'training ',
        h('span', { class: 'swatch eval' }), 'evaluation ',
        h('span', { class: 'swatch validate' }), 'validation — drag across the chart to zoom in (full resolution) ',
        reset,
      ),
    );
  }

  function drawEnergy(): void {
    if (windows.length === 0) {
      energyHost.replaceChildren(emptyState('No energy windows for this run.', 'wattlab records one per epoch and phase (train, eval) and one for the whole run when it meters a run.'));
      return;
    }
    const domains = [...new Set(windows.flatMap((w) => w.domains.map((d) => d.name)))];
    // Per domain: the whole-run window when there is one, else the sum of the others.
    const whole = windows.find((w) => w.name === 'run');
    const perDomain = domains.map((name) => {
      const from = whole ? [whole] : windows;
      const parts = from.flatMap((w) => w.domains.filter((d) => d.name === name));
      return { name, energy: parts.reduce((s, d) => s + (d.energy_j ?? 0), 0), estimated: parts.some((d) => d.estimated), counted: parts.every((d) => d.counts_in_total) };
    });
    const max = Math.max(...perDomain.map((d) => d.energy), 1e-12);
    const bars = h(
      'div',
      { class: 'bars', 'data-testid': 'energy-per-domain' },
      ...perDomain.map((d) =>
        h(
          'div',
          { class: 'bar-row' },
          h('span', { class: 'bar-label' }, d.name, d.counted ? '' : h('span', { class: 'muted', title: 'part of another domain (e.g. a core inside the package): not added to the total' }, ' (in another)')),
          h('span', { class: 'bar' }, h('span', { class: `bar-fill${d.estimated ? ' est' : ''}`, style: `width:${(100 * d.energy) / max}%` })),
          h('span', { class: 'bar-value' }, energyCell(fmtEnergy(d.energy), d.estimated)),
        ),
      ),
    );
    const table = h(
      'table',
      { class: 'grid-table', 'data-testid': 'energy-windows' },
      h('thead', {}, h('tr', {}, h('th', {}, 'window'), h('th', {}, 'starts'), h('th', {}, 'duration'), h('th', {}, 'energy'), h('th', {}, 'mean power'), ...domains.map((d) => h('th', {}, d)))),
      h(
        'tbody',
        {},
        ...windows.map((w) =>
          h(
            'tr',
            { class: w.name === 'run' ? 'total' : `phase-${phaseOf(w.name)}` },
            h('td', {}, w.name),
            h('td', {}, `+${fmtDuration((w.start_ms - run.startMs) / 1000)}`),
            h('td', {}, fmtDuration(w.duration_s)),
            h('td', {}, energyCell(fmtEnergy(w.energy_j), w.estimated)),
            h('td', {}, w.energy_j !== null && w.duration_s > 0 ? `${fmtNumber(w.energy_j / w.duration_s)} W` : ''),
            ...domains.map((name) => {
              const d = w.domains.find((x) => x.name === name);
              return h('td', {}, d ? energyCell(fmtEnergy(d.energy_j), d.estimated) : '');
            }),
          ),
        ),
      ),
    );
    energyHost.replaceChildren(h('h3', {}, 'Per domain'), bars, h('h3', {}, 'Per window'), h('div', { class: 'scroll-x' }, table));
  }

  async function drawEnvironment(): Promise<void> {
    const env = await environment(run.id, life.signal);
    if (life.ended) return;
    envHost.replaceChildren(
      Object.keys(env).length
        ? kvTable(Object.entries(env), 'environment')
        : h('p', { class: 'muted' }, 'No environment snapshot (runs logged by wattlab train, measure and study carry one).'),
    );
  }

  // Everything that changes while a run is RUNNING.
  async function refresh(): Promise<void> {
    run = await getRun(runId, life.signal);
    if (life.ended) return;
    windows = await energyWindows(runId, life.signal);
    if (life.ended) return;
    drawHeader();
    drawCards();
    paramsHost.replaceChildren(kvTable(Object.entries(run.params), 'params'));
    tagsHost.replaceChildren(kvTable(Object.entries(run.tags), 'tags'));
    drawEnergy();
    await Promise.all([drawMetrics(), drawPower()]);
    charts.get('power')?.plot.redraw(false); // windows may have changed: shade again
    el.dataset.refreshedAt = String(Date.now());
  }

  (async () => {
    try {
      await refresh();
    } catch (e) {
      if (isAbort(e)) return;
      el.replaceChildren(
        e instanceof ApiError && e.code === 'RESOURCE_DOES_NOT_EXIST'
          ? emptyState('No such run.', `There is no run ${runId} in this store.`, h('a', { href: '#/' }, 'Back to the runs'))
          : errorBox(`Cannot load run ${runId}: ${(e as Error).message}`),
      );
      return;
    }
    if (life.ended) return;
    el.replaceChildren(
      header,
      cards,
      section('Metrics', metricNote, metricGrid, finalTable),
      section('Power timeline', powerHost),
      section('Energy', energyHost),
      h('div', { class: 'three-col' }, section('Parameters', paramsHost), section('Tags', tagsHost), section('Environment', envHost)),
      section('Artifacts', artifactsHost),
    );
    void drawEnvironment();
    artifactsHost.replaceChildren(artifactsSection(run, life));
    if (run.status === 'RUNNING') {
      let busy = false;
      life.interval(async () => {
        if (busy) return;
        busy = true;
        try {
          const wasRunning = run.status === 'RUNNING';
          if (wasRunning) await refresh();
        } catch (e) {
          if (!isAbort(e)) console.warn('live refresh failed', e);
        } finally {
          busy = false;
        }
      }, 2000);
    }
  })();

  return { el, dispose: () => life.end() };
}
