// The runs ticked for comparison, kept for the browser session.
const KEY = 'wattlab.selected';
const listeners = new Set<() => void>();

function load(): string[] {
  try {
    const v = JSON.parse(sessionStorage.getItem(KEY) ?? '[]');
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

const selected = new Set<string>(load());

function changed(): void {
  sessionStorage.setItem(KEY, JSON.stringify([...selected]));
  for (const l of listeners) l();
}

export function isSelected(runId: string): boolean {
  return selected.has(runId);
}

export function setSelected(runId: string, on: boolean): void {
  if (on === selected.has(runId)) return;
  if (on) selected.add(runId);
  else selected.delete(runId);
  changed();
}

export function selectedRuns(): string[] {
  return [...selected];
}

// Calls `listener` after every change; returns what removes it.
export function onSelectionChange(listener: () => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
