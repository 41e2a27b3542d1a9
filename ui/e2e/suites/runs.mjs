// The runs table: loads, pages on scroll (virtual rows), filters (and shows
// the server's error), sorts, chooses columns, marks estimated energy, and
// tells what to run when an experiment is empty.
import { check, checkEqual } from '../harness.mjs';
import { seedPlainRun, seedStudy, seedSweep, studyTrials } from '../seed.mjs';

const number = (text) => Number(String(text).replace(/[≈,]/g, ''));

async function rows(page, col) {
  return page.$$eval(
    '[data-testid=runs-table] .vt-row',
    (els, col) => els.map((r) => ({ name: r.querySelector('[data-col=run_name]')?.textContent, value: r.querySelector(`[data-col="${col}"]`)?.textContent ?? null })),
    col,
  );
}

async function waitForCount(page, text) {
  await page.waitForFunction((t) => document.querySelector('[data-testid=run-count]')?.textContent === t, text);
}

async function search(page, filter) {
  await page.fill('[data-testid=filter]', filter);
  await page.press('[data-testid=filter]', 'Enter');
}

export async function run({ server, browser, page, log }) {
  const { api, url } = server;
  await seedStudy(api);
  await seedPlainRun(api);
  await seedSweep(api, 'sweep', 1250);
  await api.createExperiment('empty-exp');
  const total = 12 + 1 + 1 + 1250;

  // Loads: the first page at once, the rest as the user scrolls.
  await page.goto(`${url}/`);
  await page.waitForSelector('[data-testid=runs-table][data-ready]');
  await waitForCount(page, '200+ runs (more load as you scroll)');
  await browser.checkFits('the runs table');
  await browser.screenshot('runs-table');
  // Scroll to the end until every page has come (each scroll asks for the next).
  await page.waitForFunction(
    (text) => {
      const table = document.querySelector('[data-testid=runs-table]');
      table.scrollTop = table.scrollHeight;
      return document.querySelector('[data-testid=run-count]').textContent === text;
    },
    `${total.toLocaleString('en-US')} runs`,
    { polling: 250, timeout: 90_000 },
  );
  await page.$eval('[data-testid=runs-table]', (t) => (t.scrollTop = t.scrollHeight));
  await page.waitForFunction((n) => document.querySelector(`[data-testid=runs-table] .vt-row[data-index="${n - 1}"]`), total);
  const drawn = await page.$$eval('[data-testid=runs-table] .vt-row', (r) => r.length);
  check(drawn > 10 && drawn < 120, `a virtual table draws only the rows in view, not ${drawn} of ${total}`);
  const last = await page.$$eval('[data-testid=runs-table] .vt-row', (r) => Math.max(...r.map((x) => Number(x.dataset.index))));
  checkEqual(last, total - 1, 'the last row drawn after scrolling to the end');
  log(`paged ${total} runs; ${drawn} rows in the DOM`);

  // One experiment, then a filter.
  await page.click('[data-exp] >> text=green-cv');
  await waitForCount(page, '13 runs');
  await search(page, "params.model = 'resnet18'");
  await waitForCount(page, '4 runs');
  // The count can change a frame before the table redraws its rows.
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=runs-table] .vt-row').length === 4);
  const models = await rows(page, 'params.model');
  checkEqual([...new Set(models.map((r) => r.value))], ['resnet18'], 'models after filtering');
  check(page.url().includes('filter='), 'the filter is kept in the URL');
  await browser.screenshot('filtered');

  // A filter the server refuses: its message, inline.
  await search(page, 'metrics.accuracy >');
  await page.waitForSelector('[data-testid=filter-error]:not([hidden])');
  const error = await page.textContent('[data-testid=filter-error]');
  check(/expected a value/.test(error), `the server's error is shown: ${error}`);
  check(await page.$eval('[data-testid=filter]', (e) => e.classList.contains('invalid')), 'the filter box is marked invalid');
  await browser.screenshot('filter-error');

  // Sorted by the server, both ways.
  await search(page, "tags.`wattlab.study.role` = 'trial'");
  await waitForCount(page, '12 runs');
  check(await page.$eval('[data-testid=filter-error]', (e) => e.hidden), 'the error goes once the filter is valid');
  const finished = studyTrials().filter((t) => t.status === 'FINISHED');
  const byEnergy = [...finished].sort((a, b) => b.energy - a.energy);
  await page.click('.vt-th[data-col="metrics.energy_j"]');
  await page.waitForSelector('.vt-th[data-col="metrics.energy_j"][aria-sort=descending]');
  await page.waitForFunction((name) => document.querySelector('.vt-row[data-index="0"] [data-col=run_name]')?.textContent === name, byEnergy[0].name);
  let energies = (await rows(page, 'metrics.energy_j')).filter((r) => r.value).map((r) => number(r.value));
  checkEqual(energies, [...energies].sort((a, b) => b - a), 'energy, descending');
  checkEqual(energies.length, finished.length, 'runs with an energy');
  await page.click('.vt-th[data-col="metrics.energy_j"]');
  await page.waitForSelector('.vt-th[data-col="metrics.energy_j"][aria-sort=ascending]');
  await page.waitForFunction((name) => document.querySelector('.vt-row[data-index="0"] [data-col=run_name]')?.textContent === name, byEnergy.at(-1).name);
  energies = (await rows(page, 'metrics.energy_j')).filter((r) => r.value).map((r) => number(r.value));
  checkEqual(energies, [...energies].sort((a, b) => a - b), 'energy, ascending');

  // Estimated energy is marked, measured is not.
  const estimated = studyTrials().find((t) => t.estimated);
  const marks = await page.$$eval('[data-testid=runs-table] .vt-row', (els) =>
    els.map((r) => [r.querySelector('[data-col=run_name]').textContent, !!r.querySelector('[data-col="metrics.energy_j"] .est-mark')]),
  );
  checkEqual(marks.filter(([, m]) => m).map(([n]) => n), [estimated.name], 'runs whose energy is marked estimated');

  // Statuses as badges.
  const badges = await page.$$eval('[data-testid=runs-table] .badge', (b) => [...new Set(b.map((x) => x.textContent))].sort());
  checkEqual(badges, ['failed', 'finished', 'running'], 'status badges');

  // The column chooser adds a param column.
  await page.click('[data-testid=columns-button]');
  await page.check('[data-testid=column-chooser] input[data-col="params.optimizer"]');
  await page.waitForSelector('.vt-th[data-col="params.optimizer"]');
  checkEqual([...new Set((await rows(page, 'params.optimizer')).map((r) => r.value))], ['adam'], 'the optimizer column');
  await browser.checkFits('the runs table with more columns');
  await browser.screenshot('column-chooser');
  await page.click('[data-testid=columns-button]');

  // An empty experiment says what to run.
  await search(page, '');
  await page.click('[data-exp] >> text=empty-exp');
  await page.waitForSelector('[data-testid=empty]');
  const empty = await page.textContent('[data-testid=empty]');
  check(empty.includes('wattlab quickstart') && empty.includes('MLFLOW_TRACKING_URI'), `the empty page says what to run: ${empty}`);
  await browser.screenshot('empty-experiment');
}
