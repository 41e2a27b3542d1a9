// Hash routes (#/runs/<id>?x=y), so the server serves one page for every view.
export interface Route {
  path: string[]; // "#/runs/abc" -> ["runs", "abc"]
  query: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.replace(/^#\/?/, '');
  const [path, query = ''] = hash.split('?', 2);
  return { path: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(query) };
}

// "#/runs/abc?x=y" for (["runs", "abc"], {x: "y"}); empty values are left out.
export function href(path: string[], query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) q.set(k, v);
  const qs = q.toString();
  return `#/${path.map(encodeURIComponent).join('/')}${qs ? '?' + qs : ''}`;
}

// Changes the URL without a new history entry or a new page render when only
// the query changes (`silent`), or navigates.
export function setRoute(path: string[], query: Record<string, string | undefined>, silent: boolean): void {
  const target = href(path, query);
  if (silent) history.replaceState(null, '', target);
  else location.hash = target;
}
