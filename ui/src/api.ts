// The REST client: MLflow's API 2.0 and wattlab's read endpoints, as served
// by `wattlab server` (same origin). Every call carries the bearer token when
// the server asked for one: a 401 asks the user once (see setTokenPrompt),
// keeps the token for the browser session (sessionStorage) and retries.

export class ApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const TOKEN_KEY = 'wattlab.token';
let tokenPrompt: ((reason: string) => Promise<string>) | null = null;
let pendingPrompt: Promise<string> | null = null;

// Installs what asks the user for a token; `reason` says why (first ask, or
// the last token was refused). The promise resolves with the token typed.
export function setTokenPrompt(prompt: (reason: string) => Promise<string>): void {
  tokenPrompt = prompt;
}

function token(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

async function askForToken(refused: boolean): Promise<void> {
  if (!tokenPrompt) throw new ApiError(401, 'UNAUTHENTICATED', 'this server requires a token');
  // Concurrent 401s share one prompt.
  if (!pendingPrompt) {
    pendingPrompt = tokenPrompt(refused ? 'The server refused that token; try again.' : 'This server requires a token.');
    pendingPrompt.finally(() => (pendingPrompt = null));
  }
  sessionStorage.setItem(TOKEN_KEY, (await pendingPrompt).trim());
}

// fetch() with the token; a 401 asks for a token and tries again.
async function authorizedFetch(path: string, init: RequestInit = {}): Promise<Response> {
  for (;;) {
    const sent = token();
    const headers = new Headers(init.headers);
    if (sent) headers.set('Authorization', `Bearer ${sent}`);
    const res = await fetch(path, { ...init, headers });
    if (res.status !== 401) return res;
    await askForToken(sent !== null);
  }
}

async function call<T>(path: string, init: RequestInit = {}): Promise<T> {
  const res = await authorizedFetch(path, init);
  let body: any;
  try {
    body = await res.json();
  } catch {
    throw new ApiError(res.status, 'BAD_RESPONSE', `${path}: the server answered HTTP ${res.status} without JSON`);
  }
  if (!res.ok) throw new ApiError(res.status, body.error_code ?? 'ERROR', body.message ?? `HTTP ${res.status}`);
  return body as T;
}

function get<T>(path: string, query: Record<string, string | number | undefined>, signal?: AbortSignal): Promise<T> {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  return call<T>(`/api/2.0/${path}?${params}`, { signal });
}

function post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
  return call<T>(`/api/2.0/${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
}

// ---- Shapes -----------------------------------------------------------------

export type RunStatus = 'RUNNING' | 'SCHEDULED' | 'FINISHED' | 'FAILED' | 'KILLED';

// A run as the UI uses it: latest metric values by key (numbers; NaN kept).
export interface Run {
  id: string;
  name: string;
  experimentId: string;
  status: RunStatus;
  startMs: number;
  endMs?: number;
  artifactUri: string;
  metrics: Record<string, number>;
  params: Record<string, string>;
  tags: Record<string, string>;
}

export interface Experiment {
  id: string;
  name: string;
  lifecycle: string;
}

export interface EnergyWindow {
  name: string;
  start_ms: number;
  end_ms: number;
  duration_s: number;
  energy_j: number | null;
  estimated: boolean;
  domains: { name: string; energy_j: number | null; estimated: boolean; counts_in_total: boolean }[];
}

// A metric's (sampled) history, as columns.
export interface Series {
  steps: number[];
  values: (number | null)[];
  timestamps: number[];
}

export interface PowerTimeline {
  domains: string[];
  timestampsMs: number[];
  powerW: (number | null)[][]; // [domain][sample]
}

export interface ArtifactEntry {
  path: string;
  isDir: boolean;
  sizeBytes?: number;
}

// ---- Runs and experiments -------------------------------------------------------

// MLflow's metric value encoding: a number, or "NaN" / "Infinity" / "-Infinity".
function metricValue(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v === 'Infinity') return Infinity;
  if (v === '-Infinity') return -Infinity;
  return NaN;
}

function toRun(raw: any): Run {
  const info = raw.info;
  const metrics: Record<string, number> = {};
  for (const m of raw.data?.metrics ?? []) metrics[m.key] = metricValue(m.value);
  const params: Record<string, string> = {};
  for (const p of raw.data?.params ?? []) params[p.key] = p.value;
  const tags: Record<string, string> = {};
  for (const t of raw.data?.tags ?? []) tags[t.key] = t.value;
  return {
    id: info.run_id,
    name: info.run_name || info.run_id.slice(0, 8),
    experimentId: info.experiment_id,
    status: info.status,
    startMs: info.start_time,
    endMs: info.end_time,
    artifactUri: info.artifact_uri,
    metrics,
    params,
    tags,
  };
}

export interface RunsQuery {
  experimentIds: string[]; // as in MLflow, an empty list matches no run
  filter: string;
  orderBy: string[];
  maxResults: number;
  pageToken?: string;
}

export async function searchRuns(q: RunsQuery, signal?: AbortSignal): Promise<{ runs: Run[]; nextPageToken?: string }> {
  const body: Record<string, unknown> = {
    experiment_ids: q.experimentIds,
    filter: q.filter,
    order_by: q.orderBy,
    max_results: q.maxResults,
  };
  if (q.pageToken) body.page_token = q.pageToken;
  const res = await post<any>('mlflow/runs/search', body, signal);
  return { runs: (res.runs ?? []).map(toRun), nextPageToken: res.next_page_token };
}

// Every run of every experiment matching `filter` (pages of 5,000), for
// views that summarise them.
export async function searchAllRuns(filter: string, signal?: AbortSignal): Promise<Run[]> {
  const experimentIds = (await listExperiments()).map((e) => e.id);
  const out: Run[] = [];
  let pageToken: string | undefined;
  do {
    const page = await searchRuns({ experimentIds, filter, orderBy: [], maxResults: 5000, pageToken }, signal);
    out.push(...page.runs);
    pageToken = page.nextPageToken;
  } while (pageToken);
  return out;
}

export async function getRun(runId: string, signal?: AbortSignal): Promise<Run> {
  const res = await get<any>('mlflow/runs/get', { run_id: runId }, signal);
  return toRun(res.run);
}

// An experiment's tags (a study keeps its spec there).
export async function experimentTags(experimentId: string, signal?: AbortSignal): Promise<Record<string, string>> {
  const res = await get<any>('mlflow/experiments/get', { experiment_id: experimentId }, signal);
  return Object.fromEntries((res.experiment.tags ?? []).map((t: { key: string; value: string }) => [t.key, t.value]));
}

export async function listExperiments(): Promise<Experiment[]> {
  const out: Experiment[] = [];
  let pageToken: string | undefined;
  do {
    const res = await get<any>('mlflow/experiments/search', { max_results: 1000, page_token: pageToken });
    for (const e of res.experiments ?? []) out.push({ id: e.experiment_id, name: e.name, lifecycle: e.lifecycle_stage });
    pageToken = res.next_page_token;
  } while (pageToken);
  return out;
}

// ---- One run's series -------------------------------------------------------------

export async function metricHistory(runId: string, key: string, maxPoints: number, signal?: AbortSignal): Promise<Series> {
  const res = await get<any>(
    'wattlab/metrics/get-history-sampled',
    { run_id: runId, metric_key: key, max_points: maxPoints },
    signal,
  );
  const points = res.metrics as { value: unknown; step: number; timestamp: number }[];
  return {
    steps: points.map((p) => p.step),
    values: points.map((p) => {
      const v = metricValue(p.value);
      return Number.isFinite(v) ? v : null;
    }),
    timestamps: points.map((p) => p.timestamp),
  };
}

export async function powerTimeline(
  runId: string,
  maxPoints: number,
  range?: { fromMs: number; toMs: number },
  signal?: AbortSignal,
): Promise<PowerTimeline> {
  const res = await get<any>(
    'wattlab/runs/power-sampled',
    { run_id: runId, max_points: maxPoints, from_ms: range?.fromMs, to_ms: range?.toMs },
    signal,
  );
  return { domains: res.domains, timestampsMs: res.timestamps_ms, powerW: res.power_w };
}

export async function energyWindows(runId: string, signal?: AbortSignal): Promise<EnergyWindow[]> {
  return (await get<any>('wattlab/runs/energy-windows', { run_id: runId }, signal)).energy_windows;
}

export async function environment(runId: string, signal?: AbortSignal): Promise<Record<string, string>> {
  return (await get<any>('wattlab/runs/environment', { run_id: runId }, signal)).environment ?? {};
}

// ---- Artifacts ----------------------------------------------------------------------

// The run's artifacts under `path`; null when this server keeps no artifacts
// for it (the server was started without an artifact folder, or the run's
// artifacts live elsewhere: `rootUri` says where).
export async function listArtifacts(
  runId: string,
  path: string,
): Promise<{ rootUri: string; entries: ArtifactEntry[] } | null> {
  try {
    const res = await get<any>('mlflow/artifacts/list', { run_id: runId, path });
    const entries = (res.files ?? []).map((f: any) => ({ path: f.path, isDir: f.is_dir, sizeBytes: f.file_size }));
    return { rootUri: res.root_uri ?? '', entries };
  } catch (e) {
    if (e instanceof ApiError && e.code === 'ENDPOINT_NOT_FOUND') return null;
    throw e;
  }
}

// The download URL of an artifact of a run whose root is a proxied URI
// ("mlflow-artifacts:/<experiment>/<run>/artifacts"); null otherwise.
export function artifactUrl(rootUri: string, path: string): string | null {
  const prefix = 'mlflow-artifacts:/';
  if (!rootUri.startsWith(prefix)) return null;
  const parts = `${rootUri.slice(prefix.length)}/${path}`.split('/').map(encodeURIComponent);
  return `/api/2.0/mlflow-artifacts/artifacts/${parts.join('/')}`;
}

// Downloads through fetch (so the token goes with it) and saves the file.
export async function downloadArtifact(url: string, name: string): Promise<void> {
  const res = await authorizedFetch(url);
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    throw new ApiError(res.status, body.error_code ?? 'ERROR', body.message ?? `HTTP ${res.status}`);
  }
  const blob = await res.blob();
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
