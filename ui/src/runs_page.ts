// Experiments and runs: the runs table, searched, sorted and paged by the
// server (runs/search), drawn by VirtualTable, with a column chooser and the
// runs to compare ticked.
import { ApiError, listExperiments, searchRuns, type Experiment, type Run } from './api';
import {
  code,
  emptyState,
  energyCell,
  energyEstimated,
  fmtDuration,
  fmtNumber,
  fmtTime,
  h,
  isEnergyKey,
  quoteKey,
  runDurationS,
  statusBadge,
} from './dom';
import { isAbort, Lifetime, type Page } from './page';
import { href, setRoute } from './route';
import { isSelected, onSelectionChange, selectedRuns, setSelected } from './selection';
import { VirtualTable, type Column, type SortDirection } from './virtual_table';

const FIRST_PAGE = 200; // small, so the table is usable at once
const NEXT_PAGE = 1000;
const COLUMNS_KEY = 'wattlab.columns';

type Kind = 'metrics' | 'params' | 'tags';

// The default columns, when the user has chosen none: these where present.
const PREFERRED: [Kind, string][] = [
  ['metrics', 'energy_j'],
  ['metrics', 'energy_per_image_j'],
  ['metrics', 'co2e_g'],
  ['metrics', 'accuracy'],
  ['metrics', 'f1_macro'],
  ['params', 'model'],
  ['params', 'threads'],
  ['params', 'batch_size'],
];

function columnId(kind: Kind, key: string): string {
  return `${kind}.${key}`;
}

function parseColumnId(id: string): [Kind, string] {
  const dot = id.indexOf('.');
  return [id.slice(0, dot) as Kind, id.slice(dot + 1)];
}

function keyColumn(kind: Kind, key: string): Column<Run> {
  const energy = kind === 'metrics' && isEnergyKey(key);
  return {
    id: columnId(kind, key),
    label: key,
    title: `${kind}.${key}`,
    width: kind === 'metrics' ? 116 : kind === 'params' ? 124 : 150,
    sortable: true,
    cell(run) {
      if (kind === 'metrics') {
        const v = run.metrics[key];
        const text = v === undefined ? '' : fmtNumber(v);
        return energy ? energyCell(text, energyEstimated(run)) : text;
      }
      return (kind === 'params' ? run.params[key] : run.tags[key]) ?? '';
    },
  };
}

export function runsPage(query: URLSearchParams): Page {
  const life = new Lifetime();
  let experiments: Experiment[] = [];
  let experimentId = query.get('exp') ?? '';
  let filter = query.get('filter') ?? '';
  let sort: { id: string; dir: SortDirection } | null = null;
  if (query.get('sort')) {
    const [id, dir] = query.get('sort')!.split(':');
    sort = { id, dir: dir === 'ASC' ? 'ASC' : 'DESC' };
  }
  const known: Record<Kind, Set<string>> = { metrics: new Set(), params: new Set(), tags: new Set() };
  let chosen: string[] | null = JSON.parse(localStorage.getItem(COLUMNS_KEY) ?? 'null');

  // ---- Layout -------------------------------------------------------------------
  const expList = h('nav', { class: 'exp-list', 'aria-label': 'Experiments' });
  const filterInput = h('input', {
    type: 'search',
    class: 'filter',
    'data-testid': 'filter',
    placeholder: "metrics.accuracy > 0.9 AND params.model = 'resnet18'",
    value: filter,
    'aria-label': 'Filter runs (MLflow search syntax)',
    spellcheck: 'false',
  });
  const filterError = h('div', { class: 'filter-error', 'data-testid': 'filter-error', role: 'alert', hidden: true });
  const countLabel = h('span', { class: 'count', 'data-testid': 'run-count' });
  const compareButton = h('a', { class: 'button primary', 'data-testid': 'compare-button' });
  const chooser = h('div', { class: 'chooser', hidden: true, 'data-testid': 'column-chooser' });
  const chooserButton = h('button', { type: 'button', 'data-testid': 'columns-button', 'aria-expanded': 'false' }, 'Columns');
  const body = h('div', { class: 'runs-body' });

  const table = new VirtualTable<Run>({
    rowHeight: 30,
    onSort(column) {
      const dir: SortDirection = sort?.id === column.id && sort.dir === 'DESC' ? 'ASC' : 'DESC';
      sort = { id: column.id, dir };
      table.setSort(sort);
      saveRoute();
      void reload();
    },
    onNearEnd() {
      void loadMore();
    },
    rowClass: (run) => (isSelected(run.id) ? 'selected' : ''),
  });
  table.el.dataset.testid = 'runs-table';
  table.setSort(sort);

  const el = h(
    'div',
    { class: 'runs-page' },
    h('aside', { class: 'sidebar' }, h('h2', {}, 'Experiments'), expList),
    h(
      'div',
      { class: 'runs-main' },
      h(
        'form',
        {
          class: 'toolbar',
          onsubmit: (e: Event) => {
            e.preventDefault();
            filter = filterInput.value.trim();
            saveRoute();
            void reload();
          },
        },
        filterInput,
        h('button', { type: 'submit' }, 'Search'),
        chooserButton,
        countLabel,
        compareButton,
      ),
      filterError,
      chooser,
      body,
    ),
  );

  function saveRoute(): void {
    setRoute([], { exp: experimentId, filter, sort: sort ? `${sort.id}:${sort.dir}` : undefined }, true);
  }

  function updateCompareButton(): void {
    const n = selectedRuns().length;
    compareButton.textContent = `Compare ${n} selected`;
    compareButton.setAttribute('href', href(['compare'], { runs: selectedRuns().join(',') }));
    compareButton.classList.toggle('disabled', n < 2);
    compareButton.title = n < 2 ? 'Tick two or more runs to compare them' : '';
  }
  life.onEnd(onSelectionChange(updateCompareButton));
  updateCompareButton();

  // ---- Columns ---------------------------------------------------------------
  function fixedColumns(): Column<Run>[] {
    const expName = new Map(experiments.map((e) => [e.id, e.name]));
    const cols: Column<Run>[] = [
      {
        id: 'select',
        label: '',
        width: 34,
        sortable: false,
        cell(run) {
          const box = h('input', { type: 'checkbox', 'aria-label': `select ${run.name}`, checked: isSelected(run.id) });
          box.addEventListener('change', () => {
            setSelected(run.id, box.checked);
            table.redraw();
          });
          return box;
        },
      },
      { id: 'status', label: 'Status', width: 104, sortable: true, cell: (run) => statusBadge(run.status) },
      {
        id: 'run_name',
        label: 'Run',
        width: 210,
        sortable: true,
        cell: (run) => h('a', { href: href(['runs', run.id]), title: run.name }, run.name),
      },
    ];
    if (!experimentId) {
      cols.push({ id: 'experiment', label: 'Experiment', width: 130, sortable: false, cell: (r) => expName.get(r.experimentId) ?? r.experimentId });
    }
    cols.push(
      { id: 'start_time', label: 'Started', width: 150, sortable: true, cell: (run) => fmtTime(run.startMs) },
      { id: 'duration', label: 'Duration', width: 96, sortable: false, title: 'end time − start time', cell: (run) => fmtDuration(runDurationS(run)) },
    );
    return cols;
  }

  function defaultColumnIds(): string[] {
    const ids = PREFERRED.filter(([kind, key]) => known[kind].has(key)).map(([k, key]) => columnId(k, key));
    if (ids.length > 0) return ids;
    return [
      ...[...known.metrics].slice(0, 4).map((k) => columnId('metrics', k)),
      ...[...known.params].slice(0, 2).map((k) => columnId('params', k)),
    ];
  }

  function keyColumnIds(): string[] {
    return chosen ?? defaultColumnIds();
  }

  let shownColumns = '';
  function applyColumns(): void {
    const ids = keyColumnIds();
    const signature = `${experimentId}|${ids.join('\n')}|${experiments.length}`;
    if (signature === shownColumns) return;
    shownColumns = signature;
    table.setColumns([...fixedColumns(), ...ids.map((id) => keyColumn(...parseColumnId(id)))]);
  }

  function drawChooser(): void {
    const ids = new Set(keyColumnIds());
    const search = h('input', { type: 'search', placeholder: 'find a key', 'aria-label': 'find a column' });
    const groups = h('div', { class: 'chooser-groups' });
    const drawGroups = () => {
      const needle = search.value.toLowerCase();
      groups.replaceChildren(
        ...(['metrics', 'params', 'tags'] as Kind[]).map((kind) =>
          h(
            'fieldset',
            {},
            h('legend', {}, kind),
            ...[...known[kind]]
              .sort()
              .filter((k) => k.toLowerCase().includes(needle))
              .map((key) => {
                const id = columnId(kind, key);
                const box = h('input', { type: 'checkbox', checked: ids.has(id), 'data-col': id });
                box.addEventListener('change', () => {
                  const now = keyColumnIds().filter((x) => x !== id);
                  if (box.checked) now.push(id);
                  chosen = now;
                  localStorage.setItem(COLUMNS_KEY, JSON.stringify(chosen));
                  applyColumns();
                });
                return h('label', {}, box, ` ${key}`);
              }),
          ),
        ),
      );
    };
    search.addEventListener('input', drawGroups);
    drawGroups();
    chooser.replaceChildren(
      h(
        'div',
        { class: 'chooser-head' },
        search,
        h(
          'button',
          {
            type: 'button',
            onclick: () => {
              chosen = null;
              localStorage.removeItem(COLUMNS_KEY);
              applyColumns();
              drawChooser();
            },
          },
          'Defaults',
        ),
      ),
      groups,
    );
  }
  chooserButton.addEventListener('click', () => {
    chooser.hidden = !chooser.hidden;
    chooserButton.setAttribute('aria-expanded', String(!chooser.hidden));
    if (!chooser.hidden) drawChooser();
  });

  // ---- Loading ---------------------------------------------------------------
  let generation = 0;
  let nextToken: string | undefined;
  let exhausted = false;
  let loading = false;

  function orderBy(): string[] {
    if (!sort) return [];
    const field = ['status', 'run_name', 'start_time'].includes(sort.id)
      ? `attributes.${sort.id}`
      : (() => {
          const [kind, key] = parseColumnId(sort.id);
          return `${kind}.${quoteKey(key)}`;
        })();
    return [`${field} ${sort.dir}`];
  }

  function showCount(): void {
    const n = table.rowCount;
    countLabel.textContent = exhausted ? `${n.toLocaleString('en-US')} runs` : `${n.toLocaleString('en-US')}+ runs (more load as you scroll)`;
  }

  async function loadMore(): Promise<void> {
    if (loading || exhausted) return;
    loading = true;
    const mine = generation;
    const first = nextToken === undefined; // reload() clears it: this page replaces the rows
    try {
      const page = await searchRuns(
        {
          experimentIds: experimentId ? [experimentId] : experiments.map((e) => e.id),
          filter,
          orderBy: orderBy(),
          maxResults: first ? FIRST_PAGE : NEXT_PAGE,
          pageToken: nextToken,
        },
        life.signal,
      );
      if (mine !== generation) return;
      filterError.hidden = true;
      filterInput.classList.remove('invalid');
      nextToken = page.nextPageToken;
      exhausted = !nextToken;
      for (const run of page.runs) {
        for (const k of Object.keys(run.metrics)) known.metrics.add(k);
        for (const k of Object.keys(run.params)) known.params.add(k);
        for (const k of Object.keys(run.tags)) if (!k.startsWith('mlflow.')) known.tags.add(k);
      }
      applyColumns();
      if (first) table.setRows(page.runs);
      else table.appendRows(page.runs);
      showCount();
      showBody();
      if (first) {
        table.el.dataset.ready = 'true';
        performance.mark('wattlab:runs-table-usable');
      }
    } catch (e) {
      if (isAbort(e) || mine !== generation) return;
      exhausted = true;
      const message = e instanceof Error ? e.message : String(e);
      if (e instanceof ApiError && e.code === 'INVALID_PARAMETER_VALUE') {
        filterError.replaceChildren(h('strong', {}, 'The server cannot use this search: '), message);
        filterInput.classList.add('invalid');
      } else filterError.replaceChildren(h('strong', {}, 'Loading runs failed: '), message);
      filterError.hidden = false;
      table.setRows([]);
      showCount();
      showBody();
    } finally {
      if (mine === generation) loading = false;
    }
  }

  async function reload(): Promise<void> {
    generation++;
    loading = false;
    nextToken = undefined;
    exhausted = false;
    delete table.el.dataset.ready;
    await loadMore();
  }

  function showBody(): void {
    if (table.rowCount > 0 || !filterError.hidden) {
      // Re-inserting the table would reset its scroll position.
      if (table.el.parentNode !== body) body.replaceChildren(table.el);
    } else if (filter) {
      body.replaceChildren(
        emptyState('No run matches this search.', 'Change the filter above, or clear it to see every run.'),
      );
    } else {
      body.replaceChildren(
        emptyState(
          experimentId ? 'This experiment has no runs yet.' : 'No runs yet.',
          h('span', {}, 'Train and meter a first study: ', code('wattlab quickstart')),
          h('span', {}, 'or one model: ', code('wattlab train --model mobilenet_v2 --dataset fashion-mnist --epochs 3')),
          h('span', {}, 'or meter any program: ', code('wattlab measure -- python3 train.py')),
          h('span', {}, 'MLflow clients log here with ', code(`MLFLOW_TRACKING_URI=${location.origin}`)),
        ),
      );
    }
  }

  function drawExperiments(): void {
    const item = (id: string, name: string) =>
      h(
        'a',
        {
          href: href([], { exp: id, filter }),
          class: id === experimentId ? 'active' : undefined,
          'data-exp': id,
          onclick: (e: Event) => {
            e.preventDefault();
            experimentId = id;
            for (const keys of Object.values(known)) keys.clear(); // the chooser offers this experiment's keys
            drawExperiments();
            saveRoute();
            shownColumns = '';
            void reload();
          },
        },
        name,
      );
    expList.replaceChildren(item('', 'All experiments'), ...experiments.map((e) => item(e.id, e.name)));
  }

  (async () => {
    // One experiment's runs need no list of experiments: ask for both at once.
    const listed = listExperiments();
    if (experimentId) void reload();
    try {
      experiments = await listed;
    } catch (e) {
      if (life.ended) return;
      body.replaceChildren(h('div', { class: 'error' }, `Cannot list experiments: ${(e as Error).message}`));
      return;
    }
    if (life.ended) return;
    drawExperiments();
    if (experimentId) applyColumns();
    else await reload();
  })();

  return { el, dispose: () => life.end() };
}
