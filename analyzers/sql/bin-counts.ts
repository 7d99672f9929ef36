import type { Store } from "../../store/index.js";
import { IN_SCOPE_SQL, queryRows, SCAN_SETTINGS, type Scope, scopeParams } from "../scope.js";
import { type BinCount, PREDICTED_CLASS_KEY, type ReferenceBins } from "./distributions.js";
import { EVERY_ROW, type NumericLayout, numericByLayout, numericByName } from "./feature-layouts.js";

/** Scopes of up to this many windows bin with the statement that is quicker to plan (see binCounts). */
const COMPACT_WINDOWS = 2;

/**
 * Counts per window and bin of every key the bins cover, in one pass over the scope's predictions, grouped
 * by window alone: each key's counts are one `countResample` over its bin number (a row lacking the key
 * gives -1, outside the range, so it is not counted). Measured on a day of 3.3 million predictions against
 * emitting one (key, bin) code per key and row and grouping by it: 1.0–1.2 s against 1.8–2.6 s, the codes'
 * 73 million rows being most of the work. A numeric bin is arithmetic on literal edges
 * ((x >= e₁) + (x >= e₂) + …): measured 5× faster than looking the edges up per value. On a scope of a
 * window or two (an incremental run's) it is `roundDown` to the greatest edge at or below the value (below
 * the first: the -inf put before it) and that edge's index by `transform` instead: two functions per value,
 * so the statement's analysis takes half as long (most of an hour's binning), though over a day it ran
 * 5–15 % slower than the comparisons. Edge literals are numbers this code formats (JavaScript's shortest
 * round-trip form, which the engine parses to the same double); feature names and categorical values are
 * query parameters. `layouts`: the scope's orderings of numeric feature names (numericLayouts).
 */
export async function binCounts(
  store: Store,
  scope: Scope,
  windowMs: number,
  bins: ReferenceBins,
  layouts: readonly NumericLayout[] | undefined,
): Promise<BinCount[]> {
  const keys: { key: string; bins: number }[] = [];
  const params: Record<string, unknown> = scopeParams(scope, windowMs);
  const counts: string[] = [];
  const compact = scope.windowStartsMs.length <= COMPACT_WINDOWS;
  const binOf = (x: string, edges: number[]) => {
    if (edges.length === 0) return "0";
    if (!compact) return edges.map((e) => `(${x} >= ${literal(e)})`).join(" + ");
    const bounds = `[-inf, ${edges.map(literal).join(", ")}]`;
    return `transform(roundDown(${x}, ${bounds}), ${bounds}, [0, ${edges.map((_, b) => b + 1).join(", ")}], 0)`;
  };
  const count = (present: string, binCount: number, bin: string) =>
    present === EVERY_ROW
      ? `countResample(0, ${binCount}, 1)(${bin})`
      : `countResample(0, ${binCount}, 1)(if(${present}, toInt32(${bin}), -1))`;
  // Each feature is looked up once, in the inner query, and named there (p0, x0, …): the outer expressions
  // refer to the names, which keeps the statement small (its analysis took ~0.2 s, on any scope).
  const lookups: string[] = [];
  const numeric = layouts ? numericByLayout(layouts, lookups, params) : undefined;
  for (const [key, edges] of bins.edges) {
    if (key === "p:value") {
      keys.push({ key, bins: edges.length + 1 });
      counts.push(
        count("isNotNull(predicted_value)", edges.length + 1, binOf("assumeNotNull(predicted_value)", edges)),
      );
      continue;
    }
    const name = key.slice(2);
    const i = keys.length;
    const found = numeric ? numeric.read(name) : numericByName(name, i, lookups, params);
    // A feature no ordering has: absent from every row, so it has no counts.
    if (found === undefined) continue;
    keys.push({ key, bins: edges.length + 1 });
    lookups.push(`${found.value} AS x${i}`);
    counts.push(count(found.present, edges.length + 1, binOf(`x${i}`, edges)));
  }
  for (const [key, top] of bins.top) {
    const i = keys.push({ key, bins: top.length + 1 }) - 1;
    params[`t${i}`] = top;
    params[`b${i}`] = top.map((_, b) => b + 1);
    if (key === PREDICTED_CLASS_KEY) {
      counts.push(
        count("predicted_class != ''", top.length + 1, `indexOf({t${i}:Array(String)}, predicted_class)`),
      );
      continue;
    }
    params[`k${i}`] = key.slice(2);
    lookups.push(
      `indexOf(features_categorical.keys, {k${i}:String}) AS a${i}`,
      `features_categorical.values[a${i}] AS x${i}`,
    );
    // transform looks the value up in a hash table of the top values: 25 % less CPU than indexOf's scan.
    counts.push(
      count(
        `a${i} != 0`,
        top.length + 1,
        `transform(x${i}, {t${i}:Array(String)}, {b${i}:Array(UInt32)}, 0)`,
      ),
    );
  }
  if (counts.length === 0) return [];
  const rows = await queryRows<{ w: number; c: number[][] }>(
    store,
    `SELECT intDiv(toUnixTimestamp64Milli(time) - {from_ms:Int64}, {window_ms:Int64}) AS w,
       [${counts.join(",\n")}] AS c
     FROM (
       SELECT time, predicted_value, predicted_class${lookups.map((l) => `, ${l}`).join("")}
       FROM ${store.database}.predictions WHERE ${IN_SCOPE_SQL}${numeric ? ` AND ${numeric.known}` : ""}
     )
     GROUP BY w`,
    params,
    // The engine compiles an expression to machine code once it has seen it a few times (compile_expressions):
    // the bins' hundreds of comparisons took it 0.5–0.7 s to compile, on an incremental run's hour whose
    // binning takes 0.15 s, and each model version's edges make another expression to compile.
    { ...SCAN_SETTINGS, compile_expressions: 0 },
  );
  // Windows are aligned to their size, and the scope starts at a window: the index counts from it.
  const fromMs = scope.windowStartsMs[0] ?? 0;
  const out: BinCount[] = [];
  for (const r of rows) {
    const windowStartMs = fromMs + Number(r.w) * windowMs;
    keys.forEach(({ key }, i) => {
      (r.c[i] ?? []).forEach((n, bin) => {
        if (Number(n) > 0) out.push({ windowStartMs, key, bin, count: Number(n) });
      });
    });
  }
  return out;
}

/** A finite double as SQL, exactly: JavaScript's shortest round-trip digits. */
function literal(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`bin edge ${x} is not finite`);
  return Object.is(x, -0) ? "0" : String(x);
}
