// A RUNNING run's page follows it: new metric points and power samples
// appear without a reload, and the page settles when the run finishes.
import { check, checkEqual } from '../harness.mjs';

export async function run({ server, browser, page, log }) {
  const { api, url } = server;
  const start = Date.now() - 10_000;
  const runId = await api.createRun('0', 'training now', start, { 'wattlab.energy_estimated': 'false', 'wattlab.heartbeat_ms': String(Date.now()) });
  const metric = (step) => ({ key: 'train_loss', value: 1 / step, step, timestamp: start + step * 1000 });
  await api.logBatch(runId, { metrics: [metric(1), metric(2)] });
  const samples = (from, to) => Array.from({ length: to - from }, (_, i) => ({ timestamp_ms: start + (from + i) * 100, power_w: [30 + i % 7, 4] }));
  await api.powerSamples(runId, ['package-0', 'dram'], samples(0, 50));

  await page.goto(`${url}/#/runs/${runId}`);
  await page.waitForSelector('[data-testid="metric-train_loss"][data-drawn]');
  await page.waitForSelector('[data-testid=power-chart][data-drawn]');
  check(await page.$('[data-testid=live]'), 'a RUNNING run is marked live');
  check(/last heartbeat \d+(\.\d)? s ago/.test(await page.textContent('.run-header .meta')), 'its last heartbeat is shown');
  checkEqual(await page.$eval('[data-testid="metric-train_loss"]', (e) => e.dataset.points), '2', 'points before');
  checkEqual(await page.$eval('[data-testid=power-chart]', (e) => e.dataset.points), '50', 'power samples before');
  await browser.screenshot('live-before');

  // The trainer goes on.
  const t = Date.now();
  await api.logBatch(runId, { metrics: [metric(3), metric(4), metric(5), { key: 'accuracy', value: 0.7, step: 5, timestamp: start + 5000 }] });
  await api.powerSamples(runId, ['package-0', 'dram'], samples(50, 120));
  await api.energyWindows(runId, [{ name: 'epoch-1/train', start_ms: start, end_ms: start + 6000, duration_s: 6, domains: [{ name: 'package-0', energy_j: 190, estimated: false, counts_in_total: true }] }]);
  await page.waitForFunction(() => document.querySelector('[data-testid="metric-train_loss"]').dataset.points === '5');
  const followedS = (Date.now() - t) / 1000;
  await page.waitForFunction(() => document.querySelector('[data-testid=power-chart]').dataset.points === '120');
  await page.waitForSelector('[data-testid=energy-windows] td:text-is("epoch-1/train")');
  await page.waitForFunction(() => document.querySelector('[data-testid=power-chart]').dataset.underlay === '1');
  await browser.screenshot('live-after');

  // It finishes: the badge changes and the live mark goes.
  await api.logBatch(runId, { metrics: [{ key: 'energy_j', value: 400, step: 5, timestamp: Date.now() }] });
  await api.finish(runId, 'FINISHED', Date.now());
  await page.waitForSelector('.run-header .badge-finished');
  check(!(await page.$('[data-testid=live]')), 'a finished run is no longer live');
  check((await page.textContent('.cards')).includes('400 J'), 'the final energy appears');
  await browser.checkFits('the live run page');
  await browser.screenshot('live-finished');
  log(`new points shown ${followedS.toFixed(1)} s after they were logged`);
}
