#!/usr/bin/env node
// The UI's benchmark, measured in headless chromium against a real server:
//   node ui/e2e/bench.mjs --wattlab build/wattlab [--runs 10000] [--repeat 5] [--out DIR] [--store FILE]
// Seeds (through the REST API) 10,000 runs, a run with a 1,000,000-point
// metric and a run with a 1-hour power timeline sampled every 1 ms on two
// domains (7.2M samples; seeding takes minutes: --store FILE keeps the store,
// and a later run with the same FILE skips the seeding), then loads each
// page fresh `--repeat` times and reports, in ms since navigation started:
//   - runs table usable: the first page of runs drawn and interactive;
//   - 1M-point metric drawn: the run page's chart of it painted;
//   - 1-hour power timeline drawn: the run page's power chart painted;
// each also as the renderer's main-thread busy time until then (Chrome's
// TaskDuration: what the page itself cost, whatever else the machine runs);
// and, for context, scrolling frame times over the loaded rows, the time to
// re-sort the 10,000 runs by a metric, and the server's time for the
// underlying API calls. Goal: each of the three under 1 s.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { chromiumMissing, openBrowser, startServer } from './harness.mjs';
import { seedSweep, T0 } from './seed.mjs';

const { values } = parseArgs({
  options: {
    wattlab: { type: 'string' },
    runs: { type: 'string', default: '10000' },
    repeat: { type: 'string', default: '5' },
    out: { type: 'string', default: 'ui-bench' },
    store: { type: 'string' },
  },
});
if (!values.wattlab || chromiumMissing()) {
  console.error('usage: bench.mjs --wattlab PATH/TO/wattlab [--runs N] [--repeat N] [--out DIR] (needs /usr/bin/chromium)');
  process.exit(2);
}
const RUNS = Number(values.runs);
const REPEAT = Number(values.repeat);
const cpu = readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/)?.[1] ?? 'unknown CPU';
const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/flags\s*:\s*(.*)/)?.[1].split(' ') ?? [];
const median = (v) => [...v].sort((a, b) => a - b)[v.length >> 1];
const stamp = () => new Date().toISOString().slice(11, 19);

const seeded = values.store && existsSync(values.store);
const server = await startServer({ wattlab: values.wattlab, store: values.store && path.resolve(values.store) });
const { api, url } = server;

// The runs the benchmark reads, by name, in a store seeded earlier.
async function findSeeded() {
  const experimentId = (await api.get('mlflow/experiments/get-by-name', { experiment_name: 'bench-runs' })).experiment.experiment_id;
  const byName = async (name) =>
    (await api.post('mlflow/runs/search', { experiment_ids: ['0'], filter: `attributes.run_name = '${name}'` })).runs[0].info.run_id;
  return { experimentId, metricRun: await byName('one-million-points'), powerRun: await byName('one-hour-at-1ms') };
}

async function seed() {
  let t = performance.now();
  console.log(`${stamp()} seeding ${RUNS} runs (12 metrics, 12 params each)…`);
  const experimentId = await seedSweep(api, 'bench-runs', RUNS, { metricsPerRun: 12, paramsPerRun: 12 });
  console.log(`${stamp()}   ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  console.log(`${stamp()} seeding a 1,000,000-point metric…`);
  const metricRun = await api.createRun('0', 'one-million-points', T0);
  for (let i = 0; i < 1_000_000; i += 1000) {
    const metrics = [];
    for (let s = i; s < i + 1000; ++s) metrics.push({ key: 'loss', value: Math.exp(-s / 3e5) + 0.02 * Math.sin(s / 50), step: s, timestamp: T0 + s });
    await api.post('mlflow/runs/log-batch', { run_id: metricRun, metrics });
  }
  await api.finish(metricRun, 'FINISHED', T0 + 1_000_000);
  console.log(`${stamp()}   ${((performance.now() - t) / 1000).toFixed(1)} s`);

  t = performance.now();
  console.log(`${stamp()} seeding a 1-hour power timeline at 1 ms on 2 domains (7.2M samples)…`);
  const powerRun = await api.createRun('0', 'one-hour-at-1ms', T0);
  const HOUR_MS = 3_600_000;
  for (let i = 0; i < HOUR_MS; i += 20_000) {
    const samples = [];
    for (let ms = i; ms < i + 20_000; ++ms) samples.push({ timestamp_ms: T0 + ms, power_w: [45 + 15 * Math.sin(ms / 60_000) + ((ms * 7919) % 13), 6 + ((ms * 104729) % 3)] });
    await api.post('wattlab/runs/log-power-samples', { run_id: powerRun, domains: ['package-0', 'dram'], samples });
  }
  const windows = [];
  for (let e = 0; e < 20; ++e) {
    const s = T0 + e * 180_000;
    windows.push({ name: `epoch-${e + 1}/train`, start_ms: s, end_ms: s + 150_000, duration_s: 150, domains: [{ name: 'package-0', energy_j: 150 * 50, estimated: false, counts_in_total: true }] });
    windows.push({ name: `epoch-${e + 1}/eval`, start_ms: s + 150_000, end_ms: s + 180_000, duration_s: 30, domains: [{ name: 'package-0', energy_j: 30 * 40, estimated: false, counts_in_total: true }] });
  }
  await api.energyWindows(powerRun, windows);
  await api.finish(powerRun, 'FINISHED', T0 + HOUR_MS);
  console.log(`${stamp()}   ${((performance.now() - t) / 1000).toFixed(1)} s`);
  return { experimentId, metricRun, powerRun };
}

try {
  const { experimentId, metricRun, powerRun } = seeded ? await findSeeded() : await seed();

  // The server's own time for what each page asks first.
  const serverMs = async (fn) => {
    const times = [];
    for (let i = 0; i < REPEAT; ++i) {
      const s = performance.now();
      await fn();
      times.push(performance.now() - s);
    }
    return median(times);
  };
  const api_ms = {
    'runs/search, first page of 200': await serverMs(() => api.post('mlflow/runs/search', { experiment_ids: [experimentId], max_results: 200 })),
    'runs/search, 200 sorted by a metric': await serverMs(() => api.post('mlflow/runs/search', { experiment_ids: [experimentId], max_results: 200, order_by: ['metrics.`metric_5` DESC'] })),
    'get-history-sampled, 1500 of 1M points': await serverMs(() => api.get('wattlab/metrics/get-history-sampled', { run_id: metricRun, metric_key: 'loss', max_points: 1500 })),
    'power-sampled, 2400 of 3.6M times': await serverMs(() => api.get('wattlab/runs/power-sampled', { run_id: powerRun, max_points: 2400 })),
  };

  const outDir = path.resolve(values.out);
  mkdirSync(outDir, { recursive: true });
  const browser = await openBrowser(outDir);
  let page;
  let cdp;
  // A new tab for each load, so its main-thread time counts that load alone.
  const fresh = async (hash) => {
    await page?.close();
    page = await browser.context.newPage();
    cdp = await browser.context.newCDPSession(page);
    await cdp.send('Performance.enable');
    await page.goto(`${url}/${hash}`);
  };
  const shot = (name) => page.screenshot({ path: path.join(outDir, `${name}.png`), fullPage: true });
  const busyMs = async () => 1000 * (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'TaskDuration').value;
  const results = { table: [], sort: [], metric: [], power: [], scroll: [], tableBusy: [], metricBusy: [], powerBusy: [] };
  for (let r = 0; r < REPEAT; ++r) {
    await fresh(`#/?exp=${experimentId}`);
    await page.waitForSelector('[data-testid=runs-table][data-ready]', { timeout: 60_000 });
    results.table.push(await page.evaluate(() => performance.getEntriesByName('wattlab:runs-table-usable')[0].startTime));
    results.tableBusy.push(await busyMs());

    // Scrolling: 2 s of a 200-px step per frame through the loaded rows.
    results.scroll.push(
      await page.evaluate(
        () =>
          new Promise((resolve) => {
            const table = document.querySelector('[data-testid=runs-table]');
            const frames = [];
            let last = performance.now();
            const start = last;
            const step = (now) => {
              frames.push(now - last);
              last = now;
              table.scrollTop += 200;
              if (now - start < 2000) requestAnimationFrame(step);
              else resolve({ frames: frames.length, p95: frames.sort((a, b) => a - b)[Math.floor(frames.length * 0.95)], rows: Number(table.querySelector('.vt-row:last-child')?.dataset.index ?? 0) + 1 });
            };
            requestAnimationFrame(step);
          }),
      ),
    );
    // Re-sorting 10,000 runs by a metric on the server: descending (the
    // newest run, energy_j = 10,000, stays first), then timed, ascending.
    await page.click('.vt-th[data-col="metrics.energy_j"]');
    await page.waitForSelector('.vt-th[aria-sort=descending][data-col="metrics.energy_j"]');
    await page.waitForSelector('[data-testid=runs-table][data-ready]', { timeout: 60_000 });
    await page.evaluate(() => (window.__sortStart = performance.now()));
    await page.click('.vt-th[data-col="metrics.energy_j"]');
    await page.waitForFunction(() => document.querySelector('.vt-row[data-index="0"] [data-col=run_name]')?.textContent === 'sweep-00000', null, { timeout: 60_000 });
    results.sort.push(await page.evaluate(() => performance.now() - window.__sortStart));
    if (r === 0) await shot('runs-10k');

    await fresh(`#/runs/${metricRun}`);
    await page.waitForSelector('[data-testid="metric-loss"][data-drawn-at]', { timeout: 60_000 });
    results.metric.push(Number(await page.$eval('[data-testid="metric-loss"]', (e) => e.dataset.drawnAt)));
    results.metricBusy.push(await busyMs());
    if (r === 0) await shot('metric-1m');

    await fresh(`#/runs/${powerRun}`);
    await page.waitForSelector('[data-testid=power-chart][data-drawn-at]', { timeout: 60_000 });
    results.power.push(Number(await page.$eval('[data-testid=power-chart]', (e) => e.dataset.drawnAt)));
    results.powerBusy.push(await busyMs());
    if (r === 0) await shot('power-1h');
  }
  await browser.close();

  const row = (name, v, busy) =>
    `${name.padEnd(46)} median ${median(v).toFixed(0).padStart(5)} ms   (min ${Math.min(...v).toFixed(0)}, max ${Math.max(...v).toFixed(0)})` +
    (busy ? `; main thread busy ${median(busy).toFixed(0)} ms` : '');
  const lines = [
    `wattlab UI benchmark — headless Chromium, ${REPEAT} fresh page loads each; CPU: ${cpu} (AVX2: ${flags.includes('avx2') ? 'yes' : 'no'}, AVX-512: ${flags.includes('avx512f') ? 'yes' : 'no'}), ${(await import('node:os')).cpus().length} vCPUs, load average ${(await import('node:os')).loadavg()[0].toFixed(1)}`,
    row(`runs table usable (${RUNS.toLocaleString('en-US')} runs)`, results.table, results.tableBusy),
    row('1M-point metric drawn', results.metric, results.metricBusy),
    row('1-hour 1-ms power timeline drawn', results.power, results.powerBusy),
    row(`re-sort ${RUNS.toLocaleString('en-US')} runs by a metric`, results.sort),
    `scrolling the loaded rows: ${median(results.scroll.map((s) => s.frames))} frames in 2 s, p95 frame ${median(results.scroll.map((s) => s.p95)).toFixed(1)} ms, ${median(results.scroll.map((s) => s.rows))} rows reached`,
    'server time of the first request of each view (median):',
    ...Object.entries(api_ms).map(([k, v]) => `  ${k.padEnd(44)} ${v.toFixed(0).padStart(5)} ms`),
  ];
  console.log(lines.join('\n'));
  writeFileSync(path.join(outDir, 'bench.json'), JSON.stringify({ cpu, runs: RUNS, repeat: REPEAT, results, api_ms }, null, 2));
  writeFileSync(path.join(outDir, 'bench.txt'), lines.join('\n') + '\n');
} finally {
  await server.stop();
}
