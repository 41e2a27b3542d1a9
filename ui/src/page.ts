// What every page is: an element, and what to stop when the user leaves
// (requests in flight, timers, charts).
export interface Page {
  el: HTMLElement;
  dispose(): void;
}

// Collects what a page must stop when it goes: an AbortSignal for its
// requests, its timers and any cleanup function.
export class Lifetime {
  private readonly controller = new AbortController();
  private readonly cleanups: (() => void)[] = [];

  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get ended(): boolean {
    return this.controller.signal.aborted;
  }
  onEnd(fn: () => void): void {
    this.cleanups.push(fn);
  }
  interval(fn: () => void, ms: number): void {
    const id = window.setInterval(fn, ms);
    this.onEnd(() => clearInterval(id));
  }
  end(): void {
    this.controller.abort();
    for (const fn of this.cleanups.splice(0)) fn();
  }
}

// True for the error fetch() throws when its request was aborted.
export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}
