import type { Store } from "../../store/index.js";
import { IN_SCOPE_SQL, queryRows, type Scope, scopeParams } from "../scope.js";
import { DECILES, type ReferenceBins } from "./distributions.js";
import { EVERY_ROW, type NumericLayout, numericByLayout } from "./feature-layouts.js";

/** Rows in one of the engine's read units (index_granularity, the MergeTree default). */
const GRANULE_ROWS = 8192;

/**
 * Bins are taken from every prediction of references up to this many; above, from a deterministic sample
 * of about this many, which moves numeric edges by well under a bin's width, leaves out of the top values
 * only those too rare to matter, and keeps the work bounded.
 */
const REFERENCE_SAMPLE_ROWS = 200_000;

const LEVELS = DECILES.join(", ");

/**
 * The bins of a reference: numeric edges at its deciles (`quantilesExact`: the value at sorted index
 * ⌊level·n⌋), and its `topN` most frequent categorical values and predicted classes (ties by value).
 * `layouts`: the orderings of numeric feature names of the reference or of a scope holding it (numericLayouts).
 */
export async function referenceBins(
  store: Store,
  reference: Scope,
  windowMs: number,
  topN: number,
  layouts: readonly NumericLayout[] | undefined,
): Promise<ReferenceBins> {
  const params = scopeParams(reference, windowMs);
  const [size] = await queryRows<{ n: number }>(
    store,
    `SELECT count() AS n FROM ${store.database}.predictions WHERE ${IN_SCOPE_SQL}`,
    params,
  );
  const rows = Number(size?.n ?? 0);
  const every = Math.max(1, Math.ceil(rows / REFERENCE_SAMPLE_ROWS));
  // The sample takes whole spans of time, each about as long as the engine's read unit (a granule of 8192
  // rows, sorted by time within a model version) at the reference's average rate: rows sampled one by one
  // sit in every granule, so every feature value is still read (measured 0.9 s against 0.26 s for a day of
  // 3.3 million predictions). The spans are named as time ranges, which the primary key finds, so only their
  // granules are read: chosen by a condition on each row, every granule's times were read and tested (0.4 s
  // of a day's 0.6 s for its top values). Spread over the whole reference, the spans still see its daily cycle.
  const spanMs = Math.max(
    1,
    Math.floor((GRANULE_ROWS * reference.windowStartsMs.length * windowMs) / Math.max(1, rows)),
  );
  const sample: Sample = { where: IN_SCOPE_SQL, params: { ...params } };
  if (every > 1) {
    const ranges = sampledSpans(Number(params.from_ms), Number(params.to_ms), spanMs, every);
    sample.where += ` AND (${ranges
      .map(
        (_, i) =>
          `(time >= fromUnixTimestamp64Milli({s${i}:Int64}, 'UTC') AND time < fromUnixTimestamp64Milli({e${i}:Int64}, 'UTC'))`,
      )
      .join(" OR ")})`;
    ranges.forEach(([from, to], i) => {
      sample.params[`s${i}`] = from;
      sample.params[`e${i}`] = to;
    });
  }
  const edges = layouts
    ? await decilesByPosition(store, sample, layouts)
    : await decilesByName(store, sample);
  return { edges, top: await topValues(store, sample, topN) };
}

/**
 * The spans of `spanMs` (counted from the epoch) in [fromMs, toMs) that a sample of one in `every` takes, as
 * [from, to) ranges, adjacent ones joined: the spans are cut into runs of `every` and one is taken from each,
 * at a place a hash of the run's number picks. So the sample is spread evenly over the reference (taken
 * each by a hash of its own number, 20 of a bench day's 34 spans fell in its first half, which moved the
 * deciles of the feature that shifts at midday), the same on every run, and in step with no period a daily
 * pattern could have.
 */
export function sampledSpans(
  fromMs: number,
  toMs: number,
  spanMs: number,
  every: number,
): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const first = Math.floor(fromMs / spanMs);
  const last = Math.floor((toMs - 1) / spanMs);
  for (let run = Math.floor(first / every); run * every <= last; run++) {
    // The run's span, or (past the reference's ends) the one nearest inside it.
    const k = Math.min(last, Math.max(first, run * every + (spanHash(run) % every)));
    const from = Math.max(fromMs, k * spanMs);
    const to = Math.min(toMs, (k + 1) * spanMs);
    const previous = ranges[ranges.length - 1];
    if (previous && previous[1] >= from) previous[1] = Math.max(previous[1], to);
    else ranges.push([from, to]);
  }
  return ranges;
}

/** A run number's 32-bit hash (a murmur3 finalizer over its low and high words). */
function spanHash(k: number): number {
  let h = (k >>> 0) ^ Math.imul(Math.floor(k / 2 ** 32) >>> 0, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Which rows bins are taken from, and the statement parameters that condition needs. */
interface Sample {
  where: string;
  params: Record<string, unknown>;
}

/**
 * Deciles of each numeric feature read by its position (see numericByLayout) and of the predicted value,
 * one aggregate each over the sample: measured 3× less CPU than unfolding every row's features into
 * (name, value) rows and grouping by name.
 */
async function decilesByPosition(
  store: Store,
  sample: Sample,
  layouts: readonly NumericLayout[],
): Promise<Map<string, number[]>> {
  const params = { ...sample.params };
  const lookups: string[] = [];
  const reads = numericByLayout(layouts, lookups, params);
  const keys: string[] = ["p:value"];
  const present: string[] = ["isNotNull(predicted_value)"];
  const values: string[] = ["assumeNotNull(predicted_value)"];
  for (const name of new Set(layouts.flatMap((l) => l.keys))) {
    const found = reads.read(name);
    if (found === undefined) continue;
    const i = keys.push(`n:${name}`) - 1;
    lookups.push(`${found.value} AS x${i}`);
    present.push(found.present);
    values.push(`x${i}`);
  }
  const [row] = await queryRows<{ n: number[]; q: number[][] }>(
    store,
    // A feature every row has (EVERY_ROW) needs no condition: the -If aggregates took 10–30 % more CPU.
    `SELECT [${present.map((p) => (p === EVERY_ROW ? "count()" : `countIf(${p})`)).join(", ")}] AS n,
       [${present
         .map((p, i) =>
           p === EVERY_ROW
             ? `arrayDistinct(quantilesExact(${LEVELS})(${values[i]}))`
             : `arrayDistinct(quantilesExactIf(${LEVELS})(${values[i]}, ${p}))`,
         )
         .join(",\n")}] AS q
     FROM (
       SELECT predicted_value${lookups.map((l) => `, ${l}`).join("")}
       FROM ${store.database}.predictions WHERE ${sample.where} AND ${reads.known}
     )`,
    params,
  );
  const edges = new Map<string, number[]>();
  keys.forEach((key, i) => {
    if (Number(row?.n[i] ?? 0) > 0) edges.set(key, (row?.q[i] ?? []).map(Number));
  });
  return edges;
}

/** Deciles by feature name, for scopes with more orderings of names than positions are read for. */
async function decilesByName(store: Store, sample: Sample): Promise<Map<string, number[]>> {
  const db = store.database;
  // Each feature is grouped by its name as stored and prefixed once per group, not once per value (20
  // features of 200,000 sampled predictions are 4 million string copies): 15–20 % less CPU.
  const rows = await queryRows<{ key: string; edges: number[] }>(
    store,
    `SELECT concat('n:', k) AS key, arrayDistinct(quantilesExact(${LEVELS})(v)) AS edges
     FROM ${db}.predictions ARRAY JOIN features_numeric.keys AS k, features_numeric.values AS v
     WHERE ${sample.where}
     GROUP BY k
     UNION ALL
     SELECT 'p:value' AS key, arrayDistinct(quantilesExact(${LEVELS})(assumeNotNull(predicted_value))) AS edges
     FROM ${db}.predictions WHERE ${sample.where} AND isNotNull(predicted_value)
     HAVING count() > 0`,
    sample.params,
  );
  return new Map(rows.map((r) => [r.key, r.edges.map(Number)]));
}

/** The `topN` most frequent values of each categorical feature and of the predicted class, ties by value. */
async function topValues(store: Store, sample: Sample, topN: number): Promise<Map<string, string[]>> {
  const db = store.database;
  const rows = await queryRows<{ key: string; top: string[] }>(
    store,
    `SELECT key, groupArray(v) AS top
     FROM (
       SELECT key, v, n FROM (
         SELECT concat('c:', k) AS key, v, count() AS n
         FROM ${db}.predictions ARRAY JOIN features_categorical.keys AS k, features_categorical.values AS v
         WHERE ${sample.where}
         GROUP BY k, v
         UNION ALL
         SELECT 'p:class' AS key, toString(predicted_class) AS v, count() AS n
         FROM ${db}.predictions WHERE ${sample.where} AND predicted_class != ''
         GROUP BY predicted_class
       )
       ORDER BY key, n DESC, v
       LIMIT {top_n:UInt32} BY key
     )
     GROUP BY key`,
    { ...sample.params, top_n: topN },
  );
  return new Map(rows.map((r) => [r.key, r.top]));
}
