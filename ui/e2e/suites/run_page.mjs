// One run's page: its metric curves and power timeline drawn (canvas with
// pixels, one series per metric / per domain), the epoch and phase windows
// shaded, energy per window and domain, carbon, params, tags, environment,
// artifacts listed and downloaded; and a run without any of it says so.
import { readFileSync } from 'node:fs';
import { check, checkEqual, paintedPixels } from '../harness.mjs';
import { EPOCHS, seedPlainRun, seedStudy } from '../seed.mjs';

const PER_EPOCH = ['accuracy', 'eval_energy_j', 'eval_time_s', 'f1_macro', 'test_loss', 'train_energy_j', 'train_energy_per_image_j', 'train_loss', 'train_time_s'];

export async function run({ server, browser, page, log }) {
  const { api, url } = server;
  const { experimentId, trials } = await seedStudy(api);
  const plainId = await seedPlainRun(api);
  const trial = trials.find((t) => t.status === 'FINISHED' && !t.estimated);
  await api.uploadArtifact(experimentId, trial.runId, 'model.json', '{"model": "resnet18"}');
  await api.uploadArtifact(experimentId, trial.runId, 'plots/loss.csv', 'epoch,loss\n1,0.8\n');

  await page.goto(`${url}/#/runs/${trial.runId}`);
  await page.waitForSelector('[data-testid=power-chart][data-drawn]');
  for (const key of PER_EPOCH) await page.waitForSelector(`[data-testid="metric-${key}"][data-drawn]`);

  // A chart per metric logged per epoch, one series of EPOCHS points each.
  const charts = await page.$$eval('[data-testid^="metric-"][data-drawn]', (els) => els.map((e) => [e.dataset.testid, e.dataset.series, e.dataset.points]));
  checkEqual(charts.map((c) => c[0]).sort(), PER_EPOCH.map((k) => `metric-${k}`), 'metric charts');
  for (const [id, series, points] of charts) checkEqual([series, points], ['1', String(EPOCHS)], `${id}: series and points`);
  for (const key of ['f1_macro', 'train_loss']) {
    const painted = await paintedPixels(page, `[data-testid="metric-${key}"]`);
    check(painted > 500, `the ${key} curve is drawn (${painted} pixels)`);
  }

  // The power timeline: one series per domain, every 100-ms sample, the six
  // epoch/phase windows shaded.
  const power = await page.$eval('[data-testid=power-chart]', (e) => ({ ...e.dataset }));
  checkEqual(power.series, '2', 'power series (package-0, dram)');
  checkEqual(Number(power.points), Math.ceil(trial.durationS * 10), 'power samples drawn');
  checkEqual(power.underlay, String(2 * EPOCHS), 'shaded windows (train and eval per epoch)');
  check((await paintedPixels(page, '[data-testid=power-chart]')) > 2000, 'the power chart has pixels');
  const legend = await page.$$eval('[data-testid=power-chart] .u-legend .u-series th', (t) => t.map((x) => x.textContent.trim()).filter(Boolean));
  check(legend.includes('package-0') && legend.includes('dram'), `power legend names the domains: ${legend}`);

  // Energy: 7 windows (run + train/eval per epoch), per domain bars.
  const windows = await page.$$eval('[data-testid=energy-windows] tbody tr', (r) => r.map((x) => x.querySelector('td').textContent));
  checkEqual(windows, ['run', 'epoch-1/train', 'epoch-1/eval', 'epoch-2/train', 'epoch-2/eval', 'epoch-3/train', 'epoch-3/eval'], 'energy windows');
  const domains = await page.$$eval('[data-testid=energy-per-domain] .bar-label', (l) => l.map((x) => x.textContent));
  checkEqual(domains, ['package-0', 'dram'], 'energy per domain');
  const stats = await page.$$eval('.stat', (s) => s.map((x) => x.textContent));
  check(stats.some((s) => s.startsWith('Carbon') && s.includes('g CO₂e') && s.includes('480 g/kWh')), `carbon with its intensity: ${stats}`);
  check(stats.some((s) => s.startsWith('Energy') && s.includes('kJ') && s.includes('measured')), `measured energy: ${stats}`);

  // Params, tags, environment.
  const kv = (id) => page.$$eval(`[data-testid=${id}] tr`, (r) => Object.fromEntries(r.map((x) => [x.querySelector('th').textContent, x.querySelector('td').textContent])));
  checkEqual((await kv('params')).optimizer, 'adam', 'params.optimizer');
  checkEqual((await kv('tags'))['wattlab.study.model'], trial.model, 'the study tag');
  await page.waitForSelector('[data-testid=environment]');
  checkEqual((await kv('environment')).cpu_model, 'AMD EPYC 7B13', 'environment.cpu_model');

  // Artifacts: listed, a folder opened, a file downloaded with its bytes.
  await page.waitForSelector('[data-testid=artifacts] [data-path="model.json"]');
  await page.click('[data-testid=artifacts] button:has-text("plots/")');
  await page.waitForSelector('[data-testid=artifacts] [data-path="plots/loss.csv"]');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=artifacts] [data-path="model.json"]')]);
  checkEqual(download.suggestedFilename(), 'model.json', 'downloaded file name');
  checkEqual(readFileSync(await download.path(), 'utf8'), '{"model": "resnet18"}', 'downloaded bytes');
  await browser.checkFits('the run page');
  await browser.screenshot('run-page');

  // Zoom: dragging across the power chart fetches that range at full resolution.
  check(await page.isHidden('[data-testid=power] button:has-text("Show the whole run")'), 'no reset button before zooming');
  const box = await page.$eval('[data-testid=power-chart] .u-over', (e) => {
    e.scrollIntoView({ block: 'center' });
    const r = e.getBoundingClientRect();
    return { x: r.x, y: r.y, w: r.width, h: r.height };
  });
  await page.mouse.move(box.x + box.w * 0.40, box.y + box.h / 2);
  await page.mouse.down();
  await page.mouse.move(box.x + box.w * 0.45, box.y + box.h / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForSelector('[data-testid=power] button:has-text("Show the whole run"):not([hidden])');
  await page.waitForFunction((n) => Number(document.querySelector('[data-testid=power-chart]').dataset.points) < n, Math.ceil(trial.durationS * 10));
  await browser.screenshot('power-zoomed');
  await page.click('[data-testid=power] button:has-text("Show the whole run")');
  await page.waitForFunction((n) => document.querySelector('[data-testid=power-chart]').dataset.points === String(n), Math.ceil(trial.durationS * 10));
  check(await page.isHidden('[data-testid=power] button:has-text("Show the whole run")'), 'the reset button goes once the whole run is back');

  // An estimated run marks its energy; a plain MLflow run explains what is missing.
  const estimated = trials.find((t) => t.estimated);
  await page.goto(`${url}/#/runs/${estimated.runId}`);
  await page.waitForSelector('[data-testid=power-chart][data-drawn]');
  const estStats = await page.$$eval('.stat', (s) => s.map((x) => x.textContent));
  check(estStats.some((s) => s.startsWith('Energy') && s.includes('≈') && s.includes('estimated')), `estimated energy is marked: ${estStats}`);
  check((await page.$$('[data-testid=energy-windows] .est-mark')).length > 0, 'estimated windows are marked');
  await page.goto(`${url}/#/runs/${plainId}`);
  await page.waitForSelector('[data-testid="metric-loss"][data-drawn]');
  checkEqual(await page.$eval('[data-testid="metric-loss"]', (e) => e.dataset.points), '50', 'points of the plain run\'s loss');
  await page.waitForSelector('[data-testid=power] [data-testid=empty]');
  check((await page.textContent('[data-testid=power]')).includes('wattlab measure'), 'the empty power section says what to run');
  check((await page.textContent('[data-testid=energy]')).includes('No energy windows'), 'the empty energy section says so');
  await browser.screenshot('plain-run');
  log(`run page of ${trial.name}: ${charts.length} metric charts, ${power.points} power samples`);
}
