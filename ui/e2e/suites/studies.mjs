// Studies: the list with progress, a study's tables (per model ×
// environment, savings against a baseline), its trade-off with the Pareto
// front, its trials, and the link to its report.
import { check, checkEqual } from '../harness.mjs';
import { bruteForceFront, ENVIRONMENTS, MODELS, seedStudy } from '../seed.mjs';

export async function run({ server, browser, page, log }) {
  const { api, url } = server;
  await page.goto(`${url}/#/studies`);
  await page.waitForSelector('[data-testid=empty]');
  check((await page.textContent('[data-testid=empty]')).includes('wattlab study run'), 'the empty studies page says what to run');
  await browser.screenshot('studies-empty');

  const { trials } = await seedStudy(api);
  await page.reload();
  await page.waitForSelector('tr[data-study="green-cv"]');
  const row = await page.$$eval('tr[data-study="green-cv"] td', (t) => t.map((x) => x.textContent));
  checkEqual(row.slice(2, 6), ['10 / 12', '1', '1', '3 × 2 × 2'], 'finished / planned, running, failed, design');
  await browser.checkFits('the studies list');
  await browser.screenshot('studies');

  await page.click('tr[data-study="green-cv"] a');
  await page.waitForSelector('[data-testid=study-groups]');
  const groups = await page.$$eval('[data-testid=study-groups] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));
  checkEqual(groups.length, MODELS.length * ENVIRONMENTS.length, 'model × environment rows');
  // Cheapest per image first; the running and failed trials are not counted.
  checkEqual(groups[0].slice(0, 3), ['small_cnn', '2-threads', '1'], 'the cheapest group');
  checkEqual(groups.at(-1).slice(0, 3), ['resnet18', '1-thread', '2'], 'the costliest group');
  const savings = await page.$$eval('[data-testid=savings] tbody tr', (r) => r.map((x) => [...x.querySelectorAll('td')].map((t) => t.textContent)));
  checkEqual(savings.at(-1)[3], 'baseline', 'the costliest group is the default baseline');
  // small_cnn/2-threads saves 1 - median(0.00808)/median(0.0786, 0.07956) of the baseline's energy per image.
  const epi = (m, e) => trials.filter((t) => t.status === 'FINISHED' && t.model === m && t.environment === e).map((t) => t.energyPerImage);
  const med = (v) => (v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2);
  const saved = 100 * (1 - med(epi('small_cnn', '2-threads')) / med(epi('resnet18', '1-thread')));
  checkEqual(savings[0][3], `${saved.toLocaleString('en-US', { maximumSignificantDigits: 4 })} %`, 'energy saved by the cheapest');

  const finished = trials.filter((t) => t.status === 'FINISHED');
  const front = (await page.$eval('[data-testid=study-tradeoff]', (e) => e.dataset.front)).split('|');
  const reference = bruteForceFront(finished.map((t) => ({ x: t.energyPerImage, y: t.f1, name: t.name }))).map((p) => p.name);
  checkEqual(front, reference, 'the study\'s Pareto front (energy per image vs F1)');
  checkEqual(await page.$$eval('[data-testid=trials] tbody tr', (r) => r.length), 12, 'trials listed');
  await page.waitForSelector('[data-testid=report-link]');
  const report = await page.$eval('[data-testid=report-link]', (a) => a.getAttribute('href'));
  const res = await fetch(url + report);
  check(res.ok && (await res.text()).includes('green-cv report'), `the report link serves report.html (${report})`);
  await page.waitForSelector('[data-testid=spec]', { state: 'attached' });
  check((await page.$eval('[data-testid=spec]', (e) => e.textContent)).includes(`models: [${MODELS.join(', ')}]`), 'the spec is shown whole');
  await browser.checkFits('the study page');
  await browser.screenshot('study');
  log(`study front: ${front.join(', ')}`);
}
