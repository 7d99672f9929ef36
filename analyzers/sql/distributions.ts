import type { Store } from "../../store/index.js";
import { IN_SCOPE_SQL, queryRows, type Scope, scopeParams } from "../scope.js";

/**
 * What is binned for drift, by key: `n:<feature>` (numeric feature), `c:<feature>` (categorical feature),
 * `p:value` (predicted value) and `p:class` (predicted class).
 */
export interface ReferenceBins {
  /** Numeric keys: the reference's deciles, distinct, ascending. Bin i holds edges[i-1] <= x < edges[i]. */
  edges: Map<string, number[]>;
  /** Categorical keys: the reference's most frequent values. Bin i (1-based) is top[i-1]; bin 0 is "other". */
  top: Map<string, string[]>;
}

export interface BinCount {
  windowStartMs: number;
  key: string;
  bin: number;
  count: number;
}

/** Rows in one of the engine's read units (index_granularity, the MergeTree default). */
const GRANULE_ROWS = 8192;

/** The deciles that cut numeric values into 10 bins; the outer bins are open. */
export const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/**
 * Deciles are exact over references up to this many predictions; above, over a deterministic sample of
 * about this many, which moves edges by well under a bin's width and keeps the sort bounded.
 */
export const EDGE_SAMPLE_ROWS = 200_000;

/**
 * The bins of a reference: numeric edges at its deciles (`quantilesExact`: the value at sorted index
 * ⌊level·n⌋), and its `topN` most frequent categorical values (ties by value).
 */
export async function referenceBins(
  store: Store,
  reference: Scope,
  windowMs: number,
  topN: number,
): Promise<ReferenceBins> {
  const db = store.database;
  const params = scopeParams(reference, windowMs);
  const [size] = await queryRows<{ n: number }>(
    store,
    `SELECT count() AS n FROM ${db}.predictions WHERE ${IN_SCOPE_SQL}`,
    params,
  );
  const rows = Number(size?.n ?? 0);
  const every = Math.max(1, Math.ceil(rows / EDGE_SAMPLE_ROWS));
  // The sample takes whole spans of time, each about as long as the engine's read unit (a granule of 8192
  // rows, sorted by time within a model version) at the reference's average rate, chosen by a hash of the
  // span: rows sampled one by one sit in every granule, so every feature value is still read (measured
  // 0.9 s against 0.26 s for a day of 3.3 million predictions). Spread over the whole reference, the spans
  // still see its daily cycle.
  const spanMs = Math.max(
    1,
    Math.floor((GRANULE_ROWS * reference.windowStartsMs.length * windowMs) / Math.max(1, rows)),
  );
  const sampled = `${IN_SCOPE_SQL} AND intHash64(intDiv(toUnixTimestamp64Milli(time), ${spanMs})) % {every:UInt64} = 0`;
  const where = every > 1 ? sampled : IN_SCOPE_SQL;
  // Each side is grouped by the name as stored and prefixed once per group, not once per value (20 features
  // of 200,000 sampled predictions are 4 million string copies): 15–20 % less CPU for both statements.
  const numeric = await queryRows<{ key: string; edges: number[] }>(
    store,
    `SELECT concat('n:', k) AS key, arrayDistinct(quantilesExact(${DECILES.join(", ")})(v)) AS edges
     FROM ${db}.predictions ARRAY JOIN features_numeric.keys AS k, features_numeric.values AS v
     WHERE ${where}
     GROUP BY k
     UNION ALL
     SELECT 'p:value' AS key, arrayDistinct(quantilesExact(${DECILES.join(", ")})(assumeNotNull(predicted_value))) AS edges
     FROM ${db}.predictions WHERE ${where} AND isNotNull(predicted_value)
     HAVING count() > 0`,
    { ...params, every },
  );
  const categorical = await queryRows<{ key: string; top: string[] }>(
    store,
    `SELECT key, groupArray(v) AS top
     FROM (
       SELECT key, v, n FROM (
         SELECT concat('c:', k) AS key, v, count() AS n
         FROM ${db}.predictions ARRAY JOIN features_categorical.keys AS k, features_categorical.values AS v
         WHERE ${IN_SCOPE_SQL}
         GROUP BY k, v
         UNION ALL
         SELECT 'p:class' AS key, toString(predicted_class) AS v, count() AS n
         FROM ${db}.predictions WHERE ${IN_SCOPE_SQL} AND predicted_class != ''
         GROUP BY predicted_class
       )
       ORDER BY key, n DESC, v
       LIMIT {top_n:UInt32} BY key
     )
     GROUP BY key`,
    { ...params, top_n: topN },
  );
  return {
    edges: new Map(numeric.map((r) => [r.key, r.edges.map(Number)])),
    top: new Map(categorical.map((r) => [r.key, r.top])),
  };
}

/** Room for each key's bins in the combined bin number: key index × STRIDE + bin. */
const STRIDE = 4096;

/** Scopes of up to this many windows bin with the statement that is quicker to plan (see binCounts). */
const COMPACT_WINDOWS = 2;

/**
 * Counts per window and bin of every key the bins cover, in one pass over the scope's predictions. Each row
 * yields one number per key it has, 1 + key index × STRIDE + bin (0 when the row lacks the key), and with
 * its window's index folded in the engine groups plain 64-bit integers: measured 15% faster than grouping
 * by window and a Nullable bin. A numeric bin is arithmetic on literal edges ((x >= e₁) + (x >= e₂) + …):
 * measured 5× faster than looking the edges up per value. On a scope of a window or two (an incremental
 * run's) it is `roundDown` to the greatest edge at or below the value (below the first: the -inf put
 * before it) and that edge's index by `transform` instead: two functions per value, so the statement's
 * analysis takes half as long (0.04–0.07 s against 0.12–0.19 s, most of an hour's binning), though over a
 * day of 3.3 million predictions it ran 5–15 % slower than the comparisons. Edge literals are numbers this
 * code formats (JavaScript's shortest round-trip form, which the engine parses to the same
 * double); feature names and categorical values are query parameters.
 */
export async function binCounts(
  store: Store,
  scope: Scope,
  windowMs: number,
  bins: ReferenceBins,
): Promise<BinCount[]> {
  const keys: string[] = [];
  const params: Record<string, unknown> = scopeParams(scope, windowMs);
  const numericNames = [...bins.edges.keys()].filter((k) => k !== "p:value").map((k) => k.slice(2));
  const layouts = numericNames.length > 0 ? await numericLayouts(store, scope, windowMs) : undefined;
  layouts?.forEach((l, j) => {
    params[`h${j}`] = l.hash;
  });
  const parts: string[] = [];
  const compact = scope.windowStartsMs.length <= COMPACT_WINDOWS;
  const binOf = (x: string, edges: number[]) => {
    if (edges.length === 0) return "0";
    if (!compact) return edges.map((e) => `(${x} >= ${literal(e)})`).join(" + ");
    const bounds = `[-inf, ${edges.map(literal).join(", ")}]`;
    return `transform(roundDown(${x}, ${bounds}), ${bounds}, [0, ${edges.map((_, b) => b + 1).join(", ")}], 0)`;
  };
  // `code` is 1 + key index × STRIDE + bin, or 0 when not `present`.
  const part = (present: string, i: number, bin: string) => `if(${present}, ${1 + i * STRIDE} + ${bin}, 0)`;
  // Each feature is looked up once, in the inner query, and named there (p0, x0, …): the outer expressions
  // refer to the names, which keeps the statement small (its analysis took ~0.2 s, on any scope).
  const lookups: string[] = [];
  const numeric = layouts ? numericByLayout(layouts, lookups, params) : undefined;
  for (const [key, edges] of bins.edges) {
    if (key === "p:value") {
      const i = keys.push(key) - 1;
      parts.push(part("isNotNull(predicted_value)", i, binOf("assumeNotNull(predicted_value)", edges)));
      continue;
    }
    const name = key.slice(2);
    const found = numeric ? numeric(name) : numericByName(name, keys.length, lookups, params);
    // A feature no ordering has: absent from every row, so it has no counts.
    if (found === undefined) continue;
    const i = keys.push(key) - 1;
    lookups.push(`${found.value} AS x${i}`);
    parts.push(part(found.present, i, binOf(`x${i}`, edges)));
  }
  for (const [key, top] of bins.top) {
    const i = keys.push(key) - 1;
    params[`t${i}`] = top;
    if (key === "p:class") {
      parts.push(part("predicted_class != ''", i, `indexOf({t${i}:Array(String)}, predicted_class)`));
      continue;
    }
    params[`k${i}`] = key.slice(2);
    lookups.push(
      `indexOf(features_categorical.keys, {k${i}:String}) AS a${i}`,
      `features_categorical.values[a${i}] AS x${i}`,
    );
    parts.push(part(`a${i} != 0`, i, `indexOf({t${i}:Array(String)}, x${i})`));
  }
  if (parts.length === 0) return [];
  const codes = 1 + keys.length * STRIDE;
  const rows = await queryRows<{ k: number; n: number }>(
    store,
    `SELECT k, count() AS n FROM (
       SELECT toUInt64(intDiv(toUnixTimestamp64Milli(time) - {from_ms:Int64}, {window_ms:Int64})) * {codes:UInt64}
         + arrayJoin([${parts.map((p) => `toUInt32(${p})`).join(", ")}]) AS k
       FROM (
         SELECT time, predicted_value, predicted_class${lookups.map((l) => `, ${l}`).join("")}
         FROM ${store.database}.predictions WHERE ${IN_SCOPE_SQL}
       )
     )
     WHERE k % {codes:UInt64} != 0
     GROUP BY k`,
    { ...params, codes },
    // The engine compiles an expression to machine code once it has seen it a few times (compile_expressions):
    // the bins' hundreds of comparisons took it 0.5–0.7 s to compile, on an incremental run's hour whose
    // binning takes 0.15 s, and each model version's edges make another expression to compile.
    { compile_expressions: 0 },
  );
  // Windows are aligned to their size, and the scope starts at a window: the index counts from it.
  const fromMs = scope.windowStartsMs[0] ?? 0;
  return rows.map((r) => {
    const k = Number(r.k);
    const code = (k % codes) - 1;
    return {
      windowStartMs: fromMs + Math.floor(k / codes) * windowMs,
      key: keys[Math.floor(code / STRIDE)] as string,
      bin: code % STRIDE,
      count: Number(r.n),
    };
  });
}

/** One ordering of numeric feature names found in a scope: its hash (as the engine computed it) and names. */
interface NumericLayout {
  hash: string;
  keys: string[];
}

/** Past this many orderings in a scope, features are looked up by name, row by row. */
const MAX_LAYOUTS = 8;

/**
 * The orderings of numeric feature names in the scope (by `numeric_keys_hash`), so that binning reads each
 * feature by its position from the values alone: measured ~3× faster than looking every name up in every
 * row. Undefined when there are more than MAX_LAYOUTS. Rows stored after this (with an ordering not seen
 * yet) count as lacking the features here; their windows changed, so the next incremental run counts them.
 */
async function numericLayouts(
  store: Store,
  scope: Scope,
  windowMs: number,
): Promise<NumericLayout[] | undefined> {
  const db = store.database;
  const params = scopeParams(scope, windowMs);
  const hashes = await queryRows<{ h: string }>(
    store,
    `SELECT toString(numeric_keys_hash) AS h FROM ${db}.predictions WHERE ${IN_SCOPE_SQL}
     GROUP BY numeric_keys_hash LIMIT ${MAX_LAYOUTS + 1}`,
    params,
  );
  if (hashes.length > MAX_LAYOUTS) return undefined;
  const layouts: NumericLayout[] = [];
  for (const { h } of hashes) {
    // The first row of the ordering is enough: the read stops there.
    const [row] = await queryRows<{ keys: string[] }>(
      store,
      `SELECT features_numeric.keys AS keys FROM ${db}.predictions
       WHERE ${IN_SCOPE_SQL} AND numeric_keys_hash = {h:UInt64} LIMIT 1`,
      { ...params, h },
    );
    if (row) layouts.push({ hash: h, keys: row.keys });
  }
  return layouts;
}

/** How binning reads one numeric feature of a row: whether the row has it, and its value (any when not). */
interface NumericLookup {
  present: string;
  value: string;
}

/**
 * Numeric features read by position, from the orderings the scope has: a feature's value is the element at
 * its position in `features_numeric.values` (a constant index where every ordering holding it agrees), and
 * a row has it when its ordering is one of those holding it, tested once per distinct set of orderings
 * (named p0, p1, … in the inner query, through `lookups`). Undefined for a feature no ordering holds.
 */
function numericByLayout(
  layouts: readonly NumericLayout[],
  lookups: string[],
  params: Record<string, unknown>,
): (name: string) => NumericLookup | undefined {
  const presence = new Map<string, string>();
  return (name) => {
    const holders = layouts
      .map((l, j) => ({ j, position: l.keys.indexOf(name) + 1 }))
      .filter((h) => h.position > 0);
    const last = holders[holders.length - 1];
    if (last === undefined) return undefined;
    const signature = holders.map((h) => h.j).join(",");
    let present = presence.get(signature);
    if (present === undefined) {
      present = `p${presence.size}`;
      presence.set(signature, present);
      // As numbers: the client quotes strings, which an Array(UInt64) parameter refuses.
      params[`hs${present}`] = holders.map((h) => BigInt(layouts[h.j]?.hash ?? 0));
      lookups.push(`has({hs${present}:Array(UInt64)}, numeric_keys_hash) AS ${present}`);
    }
    const at = (position: number) => `features_numeric.values[${position}]`;
    const value = holders.every((h) => h.position === last.position)
      ? at(last.position)
      : `multiIf(${holders
          .slice(0, -1)
          .map((h) => `numeric_keys_hash = {h${h.j}:UInt64}, ${at(h.position)}`)
          .join(", ")}, ${at(last.position)})`;
    return { present, value };
  };
}

/** A numeric feature looked up by name in every row (past MAX_LAYOUTS orderings), as key index `i`. */
function numericByName(
  name: string,
  i: number,
  lookups: string[],
  params: Record<string, unknown>,
): NumericLookup {
  params[`k${i}`] = name;
  lookups.push(`indexOf(features_numeric.keys, {k${i}:String}) AS a${i}`);
  return { present: `a${i} != 0`, value: `features_numeric.values[a${i}]` };
}

/** A finite double as SQL, exactly: JavaScript's shortest round-trip digits. */
function literal(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`bin edge ${x} is not finite`);
  return Object.is(x, -0) ? "0" : String(x);
}
