// A server with a token: the page asks once, a wrong token is refused and
// asked again, the right one is kept for the session (a reload does not ask
// again); every page of an empty store says what to run to fill it.
import { check, checkEqual } from '../harness.mjs';

const TOKEN = 'e2e-token-0123456789abcdef';
export const serverOptions = { command: 'ui', token: TOKEN };

export async function run({ server, browser, page }) {
  check(/wattlab UI: http:\/\/127\.0\.0\.1:\d+\/ \(it asks for the token once\)/.test(server.output()), `wattlab ui prints the UI's address: ${server.output()}`);
  await page.goto(`${server.url}/`);
  await page.waitForSelector('[data-testid=token-dialog]');
  await browser.screenshot('token-prompt');
  await page.fill('[data-testid=token-input]', 'wrong-token');
  await page.press('[data-testid=token-input]', 'Enter');
  await page.waitForSelector('[data-testid=token-dialog] >> text=refused');
  await page.fill('[data-testid=token-input]', TOKEN);
  await page.press('[data-testid=token-input]', 'Enter');
  await page.waitForSelector('[data-testid=empty]');
  checkEqual(await page.$$('[data-testid=token-dialog]'), [], 'the dialog is gone');
  const empty = await page.textContent('[data-testid=empty]');
  check(empty.includes('No runs yet') && empty.includes('wattlab quickstart'), `the empty runs page says what to run: ${empty}`);
  await browser.checkFits('the empty runs page');
  await browser.screenshot('runs-empty');

  // Kept for the session: a reload does not ask again.
  await page.reload();
  await page.waitForSelector('[data-testid=empty]');
  check(!(await page.$('[data-testid=token-dialog]')), 'no second prompt after a reload');

  for (const [hash, words] of [['#/studies', 'wattlab study run'], ['#/compare', 'tick the runs'], ['#/runs/0123456789abcdef0123456789abcdef', 'No such run']]) {
    await page.goto(`${server.url}/${hash}`);
    await page.waitForSelector('[data-testid=empty]');
    const text = await page.textContent('[data-testid=empty]');
    check(text.includes(words), `${hash} says "${words}": ${text}`);
    await browser.checkFits(hash);
  }
  await browser.screenshot('run-missing');
}
