// Compare: two runs ticked in the table, compared: curves overlaid (two
// series), the trade-off scatter with the Pareto front drawn and listed, the
// parallel coordinates, the params that differ.
import { check, checkEqual, paintedPixels } from '../harness.mjs';
import { bruteForceFront, seedStudy } from '../seed.mjs';

export async function run({ server, browser, page, log }) {
  const { api, url } = server;
  const { experimentId, trials } = await seedStudy(api);
  const a = trials.find((t) => t.model === 'resnet18' && t.environment === '2-threads' && t.rep === 1);
  const b = trials.find((t) => t.model === 'small_cnn' && t.environment === '2-threads' && t.rep === 1);

  await page.goto(`${url}/#/?exp=${experimentId}`);
  await page.waitForSelector('[data-testid=runs-table][data-ready]');
  check(await page.$eval('[data-testid=compare-button]', (e) => e.classList.contains('disabled')), 'compare needs two runs');
  for (const t of [a, b]) await page.check(`.vt-row:has(a:text-is("${t.name}")) input[type=checkbox]`);
  await page.waitForSelector('[data-testid=compare-button]:not(.disabled)');
  checkEqual(await page.textContent('[data-testid=compare-button]'), 'Compare 2 selected', 'the compare button');
  await page.click('[data-testid=compare-button]');

  await page.waitForSelector('[data-testid=compare-page] [data-testid=compare-tradeoff]');
  const legend = await page.$$eval('[data-testid=compare-legend] .legend-item a', (l) => l.map((x) => x.textContent).sort());
  checkEqual(legend, [a.name, b.name].sort(), 'compared runs');

  // Overlaid curves: two series each.
  await page.waitForSelector('[data-testid="compare-f1_macro"][data-drawn]');
  checkEqual(await page.$eval('[data-testid="compare-f1_macro"]', (e) => e.dataset.series), '2', 'f1 curves overlaid');
  check((await paintedPixels(page, '[data-testid="compare-f1_macro"]')) > 500, 'the overlaid curves are drawn');

  // The trade-off: energy_j against f1_macro; small_cnn costs less, resnet18
  // scores higher, so both are on the front.
  const tradeoff = await page.$eval('[data-testid=compare-tradeoff]', (e) => ({ ...e.dataset }));
  checkEqual(tradeoff.points, '2', 'points in the scatter');
  const expected = bruteForceFront([a, b].map((t) => ({ x: t.energy, y: t.f1, name: t.name }))).map((p) => p.name);
  checkEqual(tradeoff.front.split('|'), expected, 'the Pareto front');
  checkEqual(await page.$$eval('[data-testid=compare-tradeoff] circle.pt.front', (c) => c.length), expected.length, 'front points drawn');
  check(await page.$('[data-testid=compare-tradeoff] [data-testid=pareto-line]'), 'the front is drawn as a line');
  const listed = await page.$$eval('[data-testid=compare-tradeoff-front] tbody tr td:first-child', (t) => t.map((x) => x.textContent));
  checkEqual(listed, expected, 'the front, listed');

  // Against wall time and a loss (lower is better), the front changes accordingly.
  await page.selectOption('[data-testid=compare-tradeoff-y]', 'test_loss');
  checkEqual(await page.$eval('[data-testid=compare-tradeoff-direction]', (e) => e.value), 'lower', 'a loss is better lower');

  // Parallel coordinates: a line per run over the varying params and outcomes.
  const parallel = await page.$eval('[data-testid=parallel]', (e) => ({ ...e.dataset }));
  checkEqual(parallel.lines, '2', 'parallel-coordinates lines');
  check(Number(parallel.axes) >= 4, `parallel-coordinates axes: ${parallel.axes}`);
  const differs = await page.$$eval('[data-testid=params-diff] tbody th', (t) => t.map((x) => x.textContent));
  check(differs.includes('model') && !differs.includes('optimizer'), `only differing params by default: ${differs}`);
  await browser.checkFits('the compare page');
  await browser.screenshot('compare');

  // The study's finished trials, compared at once: the front of 10 points.
  const finished = trials.filter((t) => t.status === 'FINISHED');
  await page.goto(`${url}/#/compare?runs=${finished.map((t) => t.runId).join(',')}`);
  await page.waitForSelector('[data-testid=compare-tradeoff][data-points="10"]');
  await page.selectOption('[data-testid=compare-tradeoff-x]', 'energy_per_image_j');
  const front = (await page.$eval('[data-testid=compare-tradeoff]', (e) => e.dataset.front)).split('|');
  const reference = bruteForceFront(finished.map((t) => ({ x: t.energyPerImage, y: t.f1, name: t.name }))).map((p) => p.name);
  checkEqual(front, reference, 'the Pareto front of 10 trials (energy per image vs F1)');
  await page.waitForSelector('[data-testid="compare-accuracy"][data-drawn]');
  checkEqual(await page.$eval('[data-testid="compare-accuracy"]', (e) => e.dataset.series), '10', 'ten accuracy curves');
  await browser.checkFits('the compare page of ten runs');
  await browser.screenshot('compare-ten');
  log(`front of 10 trials: ${front.join(', ')}`);

  // Nothing selected: the page says how to select.
  await page.evaluate(() => sessionStorage.clear());
  await page.goto(`${url}/#/compare`);
  await page.waitForSelector('[data-testid=empty]');
  check((await page.textContent('[data-testid=empty]')).includes('tick the runs'), 'the empty compare page explains');
  await browser.screenshot('compare-empty');
}
