// Studies (CONTRACTS.md: runs tagged wattlab.study*): their progress, and
// per model × environment what can be computed here from the trials
// (medians, savings against a baseline, the trade-off). The statistics
// (tests, effect sizes) are `wattlab study report`'s: linked when a run of
// the study keeps report.html among its artifacts.
import { artifactUrl, experimentTags, listArtifacts, searchAllRuns, type Run } from './api';
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
  quoteKey,
  runDurationS,
  section,
  select,
  statusBadge,
} from './dom';
import { isAbort, Lifetime, type Page } from './page';
import { href } from './route';
import { tradeoffView } from './tradeoff';

const STUDY = 'wattlab.study';
const tag = (run: Run, key: string) => run.tags[`${STUDY}.${key}`] ?? '';

interface Study {
  name: string;
  runs: Run[]; // every run of the study (trials, warm-ups, idle baselines)
  trials: Run[];
  models: string[];
  environments: string[];
  repetitions: number; // the highest repetition seen
}

function groupStudies(runs: Run[]): Study[] {
  const byName = new Map<string, Run[]>();
  for (const r of runs) {
    const name = r.tags[STUDY];
    if (!name) continue;
    if (!byName.has(name)) byName.set(name, []);
    byName.get(name)!.push(r);
  }
  return [...byName.entries()]
    .map(([name, list]) => {
      const trials = list.filter((r) => tag(r, 'role') === 'trial');
      return {
        name,
        runs: list,
        trials,
        models: [...new Set(trials.map((r) => tag(r, 'model')))].sort(),
        environments: [...new Set(trials.map((r) => tag(r, 'environment')))].sort(),
        repetitions: Math.max(0, ...trials.map((r) => Number(tag(r, 'repetition')) || 0)),
      };
    })
    .sort((a, b) => Math.max(...b.runs.map((r) => r.startMs)) - Math.max(...a.runs.map((r) => r.startMs)));
}

// The trials the study is known to plan: every model × environment ×
// repetition seen so far (a lower bound while trials are still unseen).
function planned(s: Study): number {
  return Math.max(s.trials.length, s.models.length * s.environments.length * s.repetitions);
}

function count(s: Study, status: string): number {
  return s.trials.filter((r) => r.status === status).length;
}

function median(values: number[]): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

function progressBar(s: Study): HTMLElement {
  const total = planned(s);
  const parts: [string, number][] = [['FINISHED', count(s, 'FINISHED')], ['RUNNING', count(s, 'RUNNING')], ['FAILED', count(s, 'FAILED') + count(s, 'KILLED')]];
  return h(
    'div',
    { class: 'progress', title: parts.map(([k, n]) => `${n} ${k.toLowerCase()}`).join(', ') },
    ...parts.map(([k, n]) => h('span', { class: `progress-${k.toLowerCase()}`, style: `width:${total ? (100 * n) / total : 0}%` })),
  );
}

function correctnessKey(trials: Run[]): string {
  return ['f1_macro', 'accuracy'].find((k) => trials.some((r) => r.metrics[k] !== undefined)) ?? 'accuracy';
}

function studiesList(): Page {
  const life = new Lifetime();
  const el = h('div', { class: 'studies-page', 'data-testid': 'studies' }, h('p', { class: 'muted' }, 'Looking for studies…'));
  searchAllRuns(`tags.${quoteKey(STUDY)} LIKE '%'`, life.signal).then(
    (runs) => {
      if (life.ended) return;
      const studies = groupStudies(runs);
      if (studies.length === 0) {
        el.replaceChildren(
          emptyState(
            'No studies yet.',
            'A study trains every model on every training environment, several times, and meters each trial.',
            h('span', {}, 'Write a spec and run it: ', code('wattlab study example > green-cv.yaml'), ' then ', code('wattlab study run green-cv.yaml')),
            h('span', {}, 'or run the built-in one: ', code('wattlab quickstart')),
          ),
        );
        return;
      }
      el.replaceChildren(
        h('h1', {}, 'Studies'),
        h(
          'table',
          { class: 'grid-table studies-table' },
          h('thead', {}, h('tr', {}, ...['study', 'progress', 'trials', 'running', 'failed', 'models × environments × reps', 'energy so far', 'last started'].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            ...studies.map((s) =>
              h(
                'tr',
                { 'data-study': s.name },
                h('td', {}, h('a', { href: href(['studies', s.name]) }, s.name)),
                h('td', {}, progressBar(s)),
                h('td', {}, `${count(s, 'FINISHED')} / ${planned(s)}`),
                h('td', {}, String(count(s, 'RUNNING'))),
                h('td', {}, String(count(s, 'FAILED') + count(s, 'KILLED'))),
                h('td', {}, `${s.models.length} × ${s.environments.length} × ${s.repetitions}`),
                h('td', {}, energyCell(fmtEnergy(s.runs.reduce((sum, r) => sum + (r.metrics.energy_j ?? 0), 0)), s.runs.some(energyEstimated))),
                h('td', {}, fmtTime(Math.max(...s.runs.map((r) => r.startMs)))),
              ),
            ),
          ),
        ),
      );
    },
    (e) => !isAbort(e) && el.replaceChildren(errorBox(`Cannot search the runs for studies: ${(e as Error).message}`)),
  );
  return { el, dispose: () => life.end() };
}

interface Group {
  model: string;
  environment: string;
  trials: Run[]; // finished ones
  energyPerImage: number;
  energy: number;
  correctness: number;
  duration: number;
  estimated: boolean;
}

function groupsOf(s: Study, correctness: string): Group[] {
  const out: Group[] = [];
  for (const model of s.models) {
    for (const environment of s.environments) {
      const trials = s.trials.filter((r) => r.status === 'FINISHED' && tag(r, 'model') === model && tag(r, 'environment') === environment);
      if (trials.length === 0) continue;
      out.push({
        model,
        environment,
        trials,
        energyPerImage: median(trials.map((r) => r.metrics.energy_per_image_j ?? NaN)),
        energy: median(trials.map((r) => r.metrics.energy_j ?? NaN)),
        correctness: median(trials.map((r) => r.metrics[correctness] ?? NaN)),
        duration: median(trials.map((r) => r.metrics.duration_s ?? runDurationS(r))),
        estimated: trials.some(energyEstimated),
      });
    }
  }
  return out.sort((a, b) => a.energyPerImage - b.energyPerImage || a.energy - b.energy);
}

// The spec the study was last run with: `wattlab study run` keeps its text
// in the experiment's tags wattlab.study.<name>.spec.0..spec_parts-1.
async function showSpec(s: Study, host: HTMLElement, life: Lifetime): Promise<void> {
  const tags = await experimentTags(s.runs[0].experimentId, life.signal).catch(() => ({}) as Record<string, string>);
  const prefix = `${STUDY}.${s.name}.`;
  const parts = Number(tags[`${prefix}spec_parts`] ?? 0);
  const text = Array.from({ length: parts }, (_, i) => tags[`${prefix}spec.${i}`] ?? '').join('');
  if (life.ended || !text) return;
  host.replaceChildren(h('details', { class: 'spec' }, h('summary', {}, `Spec (hash ${tags[`${prefix}spec_hash`] ?? '?'})`), h('pre', { 'data-testid': 'spec' }, text)));
}

async function findReport(s: Study, host: HTMLElement, life: Lifetime): Promise<void> {
  // Runs that may keep the study's report: the non-trial runs and the newest trial.
  const newest = [...s.trials].sort((a, b) => b.startMs - a.startMs)[0];
  const candidates = [...s.runs.filter((r) => tag(r, 'role') !== 'trial'), ...(newest ? [newest] : [])].slice(0, 5);
  for (const run of candidates) {
    const listing = await listArtifacts(run.id, '').catch(() => null);
    if (life.ended) return;
    const report = listing?.entries.find((e) => !e.isDir && e.path.endsWith('report.html'));
    const url = report && listing ? artifactUrl(listing.rootUri, report.path) : null;
    if (url) {
      host.replaceChildren(h('a', { class: 'button', href: url, target: '_blank', rel: 'noopener', 'data-testid': 'report-link' }, 'Open the study report (report.html)'));
      return;
    }
  }
  host.replaceChildren(
    h('p', { class: 'muted' }, 'Significance tests, effect sizes and the full report: ', code(`wattlab study report ${s.name} --out report.html`)),
  );
}

function studyDetail(name: string): Page {
  const life = new Lifetime();
  const el = h('div', { class: 'study-page', 'data-testid': 'study' }, h('p', { class: 'muted' }, `Loading study ${name}…`));

  async function load(): Promise<void> {
    const runs = await searchAllRuns(`tags.${quoteKey(STUDY)} = '${name.replace(/'/g, "''")}'`, life.signal);
    if (life.ended) return;
    const s = groupStudies(runs)[0];
    if (!s) {
      el.replaceChildren(emptyState(`No study named ${name}.`, h('a', { href: href(['studies']) }, 'See every study')));
      return;
    }
    const correctness = correctnessKey(s.trials);
    const groups = groupsOf(s, correctness);
    const finished = s.trials.filter((r) => r.status === 'FINISHED');
    const remaining = planned(s) - finished.length;
    const meanDuration = finished.length ? finished.reduce((t, r) => t + runDurationS(r), 0) / finished.length : NaN;
    const reportHost = h('div', {}, h('p', { class: 'muted' }, 'Looking for the report…'));
    const specHost = h('div');

    let baseline = groups.length ? groups[groups.length - 1] : null; // the costliest per image
    const savingsHost = h('div');
    const drawSavings = () => {
      if (!baseline) {
        savingsHost.replaceChildren(h('p', { class: 'muted' }, 'No trial has finished yet.'));
        return;
      }
      const b = baseline;
      const label = (g: Group) => `${g.model} / ${g.environment}`;
      savingsHost.replaceChildren(
        select('baseline', groups.map(label), label(b), (v) => {
          baseline = groups.find((g) => label(g) === v) ?? null;
          drawSavings();
        }, 'baseline'),
        h(
          'table',
          { class: 'grid-table', 'data-testid': 'savings' },
          h('thead', {}, h('tr', {}, ...['model', 'environment', 'energy / image', 'saved vs baseline', `Δ ${correctness} (points)`].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            ...groups.map((g) =>
              h(
                'tr',
                { class: g === b ? 'total' : '' },
                h('td', {}, g.model),
                h('td', {}, g.environment),
                h('td', {}, energyCell(fmtEnergy(g.energyPerImage), g.estimated)),
                h('td', {}, g === b ? 'baseline' : `${fmtNumber((100 * (b.energyPerImage - g.energyPerImage)) / b.energyPerImage)} %`),
                h('td', {}, g === b ? '' : fmtNumber(100 * (g.correctness - b.correctness))),
              ),
            ),
          ),
        ),
      );
    };
    drawSavings();

    el.replaceChildren(
      h('div', { class: 'crumbs' }, h('a', { href: href(['studies']) }, '← studies')),
      h('h1', {}, `Study ${s.name}`),
      h(
        'div',
        { class: 'study-progress', 'data-testid': 'study-progress' },
        progressBar(s),
        h(
          'p',
          {},
          `${finished.length} of ${planned(s)} trials finished`,
          count(s, 'RUNNING') ? `, ${count(s, 'RUNNING')} running` : '',
          count(s, 'FAILED') + count(s, 'KILLED') ? `, ${count(s, 'FAILED') + count(s, 'KILLED')} failed or killed` : '',
          remaining > 0 && Number.isFinite(meanDuration) ? ` — about ${fmtDuration(remaining * meanDuration)} left at ${fmtDuration(meanDuration)} a trial, one at a time` : '',
          '. ',
          h('a', { href: href([], { filter: `tags.${quoteKey(STUDY)} = '${s.name}'` }) }, 'Its runs in the table'),
        ),
      ),
      reportHost,
      specHost,
      section(
        `Per model × environment (medians over finished trials)`,
        groups.length
          ? h(
              'table',
              { class: 'grid-table', 'data-testid': 'study-groups' },
              h('thead', {}, h('tr', {}, ...['model', 'environment', 'trials', correctness, 'energy', 'energy / image', 'duration'].map((t) => h('th', {}, t)))),
              h(
                'tbody',
                {},
                ...groups.map((g) =>
                  h(
                    'tr',
                    {},
                    h('td', {}, g.model),
                    h('td', {}, g.environment),
                    h('td', {}, String(g.trials.length)),
                    h('td', {}, fmtNumber(g.correctness)),
                    h('td', {}, energyCell(fmtEnergy(g.energy), g.estimated)),
                    h('td', {}, energyCell(fmtEnergy(g.energyPerImage), g.estimated)),
                    h('td', {}, fmtDuration(g.duration)),
                  ),
                ),
              ),
            )
          : h('p', { class: 'muted' }, 'No trial has finished yet.'),
      ),
      section('Savings against a baseline', savingsHost),
      section('Trade-off of the finished trials', finished.length ? tradeoffView(finished, { testid: 'study-tradeoff', xKey: 'energy_per_image_j', yKey: correctness }) : h('p', { class: 'muted' }, 'No trial has finished yet.')),
      section(
        'Trials',
        h(
          'table',
          { class: 'grid-table', 'data-testid': 'trials' },
          h('thead', {}, h('tr', {}, ...['#', 'model', 'environment', 'rep', 'status', 'energy', correctness].map((t) => h('th', {}, t)))),
          h(
            'tbody',
            {},
            ...[...s.trials]
              .sort((a, b) => Number(tag(a, 'trial')) - Number(tag(b, 'trial')))
              .slice(0, 1000)
              .map((r) =>
                h(
                  'tr',
                  {},
                  h('td', {}, h('a', { href: href(['runs', r.id]) }, tag(r, 'trial'))),
                  h('td', {}, tag(r, 'model')),
                  h('td', {}, tag(r, 'environment')),
                  h('td', {}, tag(r, 'repetition')),
                  h('td', {}, statusBadge(r.status)),
                  h('td', {}, energyCell(fmtEnergy(r.metrics.energy_j), energyEstimated(r))),
                  h('td', {}, fmtNumber(r.metrics[correctness])),
                ),
              ),
          ),
        ),
      ),
    );
    void findReport(s, reportHost, life);
    void showSpec(s, specHost, life);
  }

  load().catch((e) => !isAbort(e) && el.replaceChildren(errorBox(`Cannot load study ${name}: ${(e as Error).message}`)));
  // A running study changes: look again every 10 s.
  life.interval(() => {
    if (el.querySelector('.badge-running')) load().catch(() => undefined);
  }, 10_000);
  return { el, dispose: () => life.end() };
}

export function studiesPage(name: string | undefined): Page {
  return name ? studyDetail(name) : studiesList();
}
