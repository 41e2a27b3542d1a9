#!/usr/bin/env node
// Runs one browser test suite against a real wattlab server:
//   node ui/e2e/run.mjs --suite runs --wattlab build/wattlab --out build/ui/e2e
// Suites: runs, run_page, compare, live, studies, token (e2e/suites/*.mjs).
// Screenshots go to <out>/<suite>/. Exits 0 on success, 1 on failure, 77
// (CTest's "skipped") when Debian's chromium is not installed.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CHROMIUM, chromiumMissing, openBrowser, startServer } from './harness.mjs';

const { values } = parseArgs({
  options: { suite: { type: 'string' }, wattlab: { type: 'string' }, out: { type: 'string', default: 'ui-e2e' } },
});
if (!values.suite || !values.wattlab) {
  console.error('usage: run.mjs --suite NAME --wattlab PATH/TO/wattlab [--out DIR]');
  process.exit(2);
}
if (chromiumMissing()) {
  console.log(`skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);
  process.exit(77);
}

const suite = await import(`./suites/${values.suite}.mjs`);
const outDir = path.resolve(values.out, values.suite);
rmSync(outDir, { recursive: true, force: true }); // no screenshot of an earlier run stays
const started = performance.now();
const server = await startServer({ wattlab: values.wattlab, ...(suite.serverOptions ?? {}) });
const browser = await openBrowser(outDir);
let failed = false;
try {
  await suite.run({ server, browser, page: browser.page, log: (...a) => console.log('  ', ...a) });
  if (browser.problems.length) throw new Error(`the page reported errors:\n${browser.problems.join('\n')}`);
} catch (e) {
  failed = true;
  console.error(`FAILED ${values.suite}: ${e.stack ?? e}`);
  await browser.screenshot('failure').then((f) => console.error(`screenshot of the failure: ${f}`), () => undefined);
} finally {
  await browser.close();
  await server.stop();
}
console.log(`${failed ? 'FAILED' : 'passed'} ${values.suite} in ${((performance.now() - started) / 1000).toFixed(1)} s; screenshots in ${outDir}`);
process.exit(failed ? 1 : 0);
