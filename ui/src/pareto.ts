// Pareto fronts of (cost, value) points: the cost (energy, time) is always
// minimised; the value is maximised (accuracy) or minimised (a loss).

export interface ParetoPoint<T> {
  x: number; // cost
  y: number; // value
  item: T;
}

// The points no other point dominates (no worse in both, better in one), in
// order of increasing cost. Points with a non-finite coordinate take no part.
// Identical points on the front are all kept.
export function paretoFront<T>(points: ParetoPoint<T>[], maximizeY: boolean): ParetoPoint<T>[] {
  const goodness = (p: ParetoPoint<T>) => (maximizeY ? p.y : -p.y);
  const finite = points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y));
  finite.sort((a, b) => a.x - b.x || goodness(b) - goodness(a));
  const front: ParetoPoint<T>[] = [];
  let best = -Infinity;
  for (const p of finite) {
    const g = goodness(p);
    const last = front[front.length - 1];
    if (g > best) {
      front.push(p);
      best = g;
    } else if (last && g === goodness(last) && p.x === last.x) {
      front.push(p); // the same point as the last on the front
    }
  }
  return front;
}
