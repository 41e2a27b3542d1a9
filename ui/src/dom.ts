// Small DOM and formatting helpers shared by the pages.
import type { Run, RunStatus } from './api';

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | EventListener | undefined | null>;

// h('a', {href: '#/', class: 'x', onclick: fn}, 'text', child...): attributes
// named on* become listeners; false/null/undefined attributes are left out.
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'value' && 'value' in el) (el as HTMLInputElement).value = String(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    parent.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

// A section with a heading.
export function section(title: string, ...children: Child[]): HTMLElement {
  return h('section', { class: 'card' }, h('h2', {}, title), ...children);
}

// What an empty page shows: what it would hold and what to run to fill it.
export function emptyState(title: string, ...lines: Child[]): HTMLElement {
  return h('div', { class: 'empty', 'data-testid': 'empty' }, h('h2', {}, title), ...lines.map((l) => h('p', {}, l)));
}

export function code(text: string): HTMLElement {
  return h('code', {}, text);
}

export function errorBox(message: string): HTMLElement {
  return h('div', { class: 'error', role: 'alert' }, message);
}

export function statusBadge(status: RunStatus): HTMLElement {
  return h('span', { class: `badge badge-${status.toLowerCase()}`, title: status }, status.toLowerCase());
}

// Numbers as a person reads them: 4 significant digits, thousands separated.
export function fmtNumber(v: number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '-∞';
  const abs = Math.abs(v);
  if (abs !== 0 && (abs >= 1e9 || abs < 1e-3)) return v.toExponential(3);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return v.toLocaleString('en-US', { maximumSignificantDigits: 4 });
}

// Joules with a unit that keeps the number short (J, kJ, MJ) and kWh beside MJ.
export function fmtEnergy(j: number | null | undefined): string {
  if (j === null || j === undefined || !Number.isFinite(j)) return '';
  const abs = Math.abs(j);
  if (abs >= 1e6) return `${fmtNumber(j / 1e6)} MJ (${fmtNumber(j / 3.6e6)} kWh)`;
  if (abs >= 1e3) return `${fmtNumber(j / 1e3)} kJ`;
  return `${fmtNumber(j)} J`;
}

export function fmtDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '';
  if (seconds < 60) return `${fmtNumber(Math.round(seconds * 10) / 10)} s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m} min ${Math.round(seconds - m * 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function fmtTime(ms: number | undefined): string {
  if (!ms) return '';
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '';
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${fmtNumber(n / 1024)} KiB`;
  return `${fmtNumber(n / 1024 / 1024)} MiB`;
}

// The run's wall duration in seconds (to now while it runs).
export function runDurationS(run: Run): number {
  return ((run.endMs ?? (run.status === 'RUNNING' ? Date.now() : run.startMs)) - run.startMs) / 1000;
}

// True when the run's energy figures come from the estimator, not a counter.
export function energyEstimated(run: Run): boolean {
  return run.tags['wattlab.energy_estimated'] === 'true';
}

// Keys whose figures are energy (or derived from it: carbon, power).
export function isEnergyKey(key: string): boolean {
  return /energy|co2e|_wh$|_kwh$|power/i.test(key);
}

// An energy figure with its estimated mark ("≈", and a tooltip) when estimated.
export function energyCell(text: string, estimated: boolean): HTMLElement {
  const span = h('span', { class: estimated ? 'estimated' : undefined }, text);
  if (estimated && text) {
    span.title = 'estimated: no energy counter was available for this run (see `wattlab devices`)';
    span.prepend(h('span', { class: 'est-mark', 'aria-label': 'estimated' }, '≈'));
  }
  return span;
}

// The colours of series, in order (distinct on white, colour-blind aware).
const PALETTE = ['#2563eb', '#dc2626', '#059669', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#65a30d', '#475569', '#b45309'];

export function colorOf(i: number): string {
  return PALETTE[i % PALETTE.length];
}

// Escapes a key for MLflow's search syntax: `key` with backticks.
export function quoteKey(key: string): string {
  return '`' + key.replace(/`/g, '') + '`';
}

// A labelled <select> of `options` calling `onchange` with the new value.
export function select(
  label: string,
  options: string[],
  value: string,
  onchange: (v: string) => void,
  testid?: string,
): HTMLElement {
  const sel = h('select', { 'data-testid': testid }, ...options.map((o) => h('option', { value: o, selected: o === value }, o)));
  sel.addEventListener('change', () => onchange(sel.value));
  return h('label', { class: 'field' }, `${label} `, sel);
}
