/** Counts summed by a key: how many of each class, cell or value. */
export function tally<T>(
  items: readonly (T & { count: number })[],
  key: (t: T) => string,
): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of items) m.set(key(t), (m.get(key(t)) ?? 0) + t.count);
  return m;
}

export function sum<T>(items: readonly T[], f: (t: T) => number): number {
  let s = 0;
  for (const t of items) s += f(t);
  return s;
}
