// What the browser tests and the benchmark share: a real `wattlab server`
// on a fresh store, a REST client to seed it, and Debian's chromium driven by
// playwright-core (headless, no sandbox, no background networking), with
// screenshots and a check that nothing on a page overflows 1280 px.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.WATTLAB_CHROMIUM ?? '/usr/bin/chromium';
export const WIDTH = 1280;
export const HEIGHT = 800;

export class Failure extends Error {}

export function check(condition, message) {
  if (!condition) throw new Failure(message);
}

export function checkEqual(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Failure(`${what}: expected ${e}, got ${a}`);
}

// Starts `wattlab <command> --port 0` on a new store in a temporary folder
// (or on `store`, which is kept); resolves once it prints its address.
// stop() ends it and removes the folder.
export async function startServer({ wattlab, command = 'server', token, store } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'wattlab-ui-'));
  const args = ['--store', store ?? path.join(dir, 'store.db'), command, '--port', '0', '--artifacts', path.join(dir, 'artifacts')];
  if (token) args.push('--token', token);
  const child = spawn(wattlab, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WATTLAB_TOKEN: '' } });
  let output = '';
  const url = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`wattlab ${command} did not start in 20 s:\n${output}`)), 20_000);
    const read = (chunk) => {
      output += chunk;
      const m = output.match(/listening on (http:\/\/[^\s]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => reject(new Error(`wattlab ${command} exited (${code}):\n${output}`)));
  });
  return {
    url,
    dir,
    output: () => output,
    api: new Api(url, token),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve() : child.on('exit', resolve)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The REST calls that seed a store (MLflow's API and wattlab's).
export class Api {
  constructor(base, token) {
    this.base = base;
    this.headers = { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) };
  }
  async post(endpoint, body) {
    const res = await fetch(`${this.base}/api/2.0/${endpoint}`, { method: 'POST', headers: this.headers, body: JSON.stringify(body) });
    const json = await res.json();
    if (!res.ok) throw new Error(`${endpoint}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
  async get(endpoint, query) {
    const res = await fetch(`${this.base}/api/2.0/${endpoint}?${new URLSearchParams(query)}`, { headers: this.headers });
    const json = await res.json();
    if (!res.ok) throw new Error(`${endpoint}: HTTP ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
  async createExperiment(name) {
    return (await this.post('mlflow/experiments/create', { name })).experiment_id;
  }
  async createRun(experimentId, name, startMs, tags = {}) {
    const res = await this.post('mlflow/runs/create', {
      experiment_id: experimentId,
      run_name: name,
      start_time: startMs,
      tags: Object.entries(tags).map(([key, value]) => ({ key, value })),
    });
    return res.run.info.run_id;
  }
  // metrics: [{key, value, step, timestamp}], params/tags: {key: value}; in
  // batches within MLflow's limits (100 params, 100 tags, 1000 entities).
  async logBatch(runId, { metrics = [], params = {}, tags = {} }) {
    const kv = (o) => Object.entries(o).map(([key, value]) => ({ key, value: String(value) }));
    const p = kv(params), t = kv(tags);
    let i = 0, m = 0;
    do {
      const batch = { run_id: runId, params: p.slice(i, i + 100), tags: t.slice(i, i + 100) };
      batch.metrics = metrics.slice(m, m + 1000 - batch.params.length - batch.tags.length);
      m += batch.metrics.length;
      i += 100;
      await this.post('mlflow/runs/log-batch', batch);
    } while (i < Math.max(p.length, t.length) || m < metrics.length);
  }
  async energyWindows(runId, windows) {
    await this.post('wattlab/runs/log-energy-windows', { run_id: runId, energy_windows: windows });
  }
  async powerSamples(runId, domains, samples) {
    for (let i = 0; i < samples.length; i += 20_000) {
      await this.post('wattlab/runs/log-power-samples', { run_id: runId, domains, samples: samples.slice(i, i + 20_000) });
    }
  }
  async environment(runId, environment) {
    await this.post('wattlab/runs/set-environment', { run_id: runId, environment });
  }
  async finish(runId, status, endMs) {
    await this.post('mlflow/runs/update', { run_id: runId, status, end_time: endMs });
  }
  async uploadArtifact(experimentId, runId, relPath, content) {
    const res = await fetch(`${this.base}/api/2.0/mlflow-artifacts/artifacts/${experimentId}/${runId}/artifacts/${relPath}`, {
      method: 'PUT',
      headers: this.headers,
      body: content,
    });
    if (!res.ok) throw new Error(`artifact upload ${relPath}: HTTP ${res.status}`);
  }
}

// Chromium as MACHINE-NOTES.md says it runs here; a page 1280 px wide that
// fails the test on any page error or console error (but the HTTP errors the
// tests provoke on purpose, which Chromium also logs).
export async function openBrowser(outDir) {
  mkdirSync(outDir, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  const context = await browser.newContext({ viewport: { width: WIDTH, height: HEIGHT }, acceptDownloads: true });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000); // generous: CI machines are shared and slow
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (400|401|404)/.test(m.text())) {
      problems.push(`console error: ${m.text()}`);
    }
  });
  let shot = 0;
  return {
    browser,
    context,
    page,
    problems,
    // Saves a full-page screenshot as <outDir>/NN-name.png.
    async screenshot(name) {
      const file = path.join(outDir, `${String(++shot).padStart(2, '0')}-${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    // Fails when the page is wider than the window (content cut off at 1280 px).
    async checkFits(what) {
      const width = await page.evaluate(() => document.documentElement.scrollWidth);
      check(width <= WIDTH, `${what} is ${width} px wide at a ${WIDTH}-px window: something overflows`);
    },
    async close() {
      await browser.close();
    },
  };
}

// Counts the canvas's pixels that are drawn (not transparent or white).
export async function paintedPixels(page, selector) {
  return page.$eval(selector, (root) => {
    const canvas = root.querySelector('canvas');
    if (!canvas) return 0;
    const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
    let n = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i + 3] > 0 && !(data[i] > 250 && data[i + 1] > 250 && data[i + 2] > 250)) n++;
    return n;
  });
}

export function chromiumMissing() {
  return !existsSync(CHROMIUM);
}
