import type { Store } from "../../store/index.js";
import { IN_SCOPE_SQL, queryRows, type Scope, scopeParams, WINDOW_START_SQL } from "../scope.js";

/**
 * What is binned for drift, by key: `n:<feature>` (numeric feature), `c:<feature>` (categorical feature),
 * `p:value` (predicted value) and `p:class` (predicted class). Keys of a reference computed per window
 * ("previous window" mode) are prefixed with the start of the window they serve: `<ms>|n:age`.
 */
export interface ReferenceBins {
  /** Numeric keys: the reference's deciles, distinct, ascending. Bin i holds edges[i-1] <= x < edges[i]. */
  edges: Map<string, number[]>;
  /** Categorical keys: the reference's most frequent values. Bin i (1-based) is top[i-1]; bin 0 is "other". */
  top: Map<string, string[]>;
}

export interface BinCount {
  windowStartMs: number;
  /** As in ReferenceBins, without a window prefix. */
  key: string;
  bin: number;
  count: number;
}

/** The deciles that cut numeric values into 10 bins; the outer bins are open. */
export const DECILES = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/**
 * Where a reference's rows say which window they serve: "" for one baseline serving every window, or the
 * next window's start when each window is compared with the one before it.
 */
function servedPrefix(mode: "baseline" | "previous", shiftSql: string): string {
  return mode === "baseline" ? "''" : `concat(toString(${WINDOW_START_SQL} + ${shiftSql}), '|')`;
}

/**
 * The bins of a reference: numeric edges at its deciles (`quantilesExact`: the value at sorted index
 * ⌊level·n⌋), and its `topN` most frequent categorical values (ties by value).
 */
export async function referenceBins(
  store: Store,
  reference: Scope,
  windowMs: number,
  mode: "baseline" | "previous",
  topN: number,
): Promise<ReferenceBins> {
  const db = store.database;
  const params = { ...scopeParams(reference, windowMs), top_n: topN };
  const served = servedPrefix(mode, "{window_ms:Int64}");
  const numeric = await queryRows<{ key: string; edges: number[] }>(
    store,
    `SELECT key, arrayDistinct(quantilesExact(${DECILES.join(", ")})(v)) AS edges
     FROM (
       SELECT concat(${served}, 'n:', k) AS key, v
       FROM ${db}.predictions ARRAY JOIN mapKeys(features_numeric) AS k, mapValues(features_numeric) AS v
       WHERE ${IN_SCOPE_SQL}
       UNION ALL
       SELECT concat(${served}, 'p:value') AS key, assumeNotNull(predicted_value) AS v
       FROM ${db}.predictions WHERE ${IN_SCOPE_SQL} AND isNotNull(predicted_value)
     )
     GROUP BY key`,
    params,
  );
  const categorical = await queryRows<{ key: string; top: string[] }>(
    store,
    `SELECT key, groupArray(v) AS top
     FROM (
       SELECT key, v, count() AS n FROM (
         SELECT concat(${served}, 'c:', k) AS key, v
         FROM ${db}.predictions ARRAY JOIN mapKeys(features_categorical) AS k, mapValues(features_categorical) AS v
         WHERE ${IN_SCOPE_SQL}
         UNION ALL
         SELECT concat(${served}, 'p:class') AS key, predicted_class AS v
         FROM ${db}.predictions WHERE ${IN_SCOPE_SQL} AND predicted_class != ''
       )
       GROUP BY key, v
       ORDER BY key, n DESC, v
       LIMIT {top_n:UInt32} BY key
     )
     GROUP BY key`,
    params,
  );
  return {
    edges: new Map(numeric.map((r) => [r.key, r.edges.map(Number)])),
    top: new Map(categorical.map((r) => [r.key, r.top])),
  };
}

/**
 * Counts per window and bin of every key the reference has bins for. `shiftMs` says which reference bins a
 * row uses: null → the baseline's; otherwise those served to the window at (row's window + shiftMs), so the
 * same reference rows can be binned as themselves (shift = one window) and the windows they serve (0).
 */
export async function binCounts(
  store: Store,
  scope: Scope,
  windowMs: number,
  bins: ReferenceBins,
  shiftMs: number | null,
): Promise<BinCount[]> {
  const db = store.database;
  const served = shiftMs === null ? "''" : `concat(toString(${WINDOW_START_SQL} + {shift_ms:Int64}), '|')`;
  const edges = "{edges:Map(String, Array(Float64))}";
  const top = "{top:Map(String, Array(String))}";
  const rows = await queryRows<{ ws: number; key: string; bin: number; n: number }>(
    store,
    `SELECT ws, key, bin, count() AS n FROM (
       SELECT ${WINDOW_START_SQL} AS ws, concat('n:', k) AS key,
         arrayCount(e -> e <= v, ${edges}[concat(${served}, key)]) AS bin
       FROM ${db}.predictions ARRAY JOIN mapKeys(features_numeric) AS k, mapValues(features_numeric) AS v
       WHERE ${IN_SCOPE_SQL} AND mapContains(${edges}, concat(${served}, 'n:', k))
       UNION ALL
       SELECT ${WINDOW_START_SQL} AS ws, 'p:value' AS key,
         arrayCount(e -> e <= assumeNotNull(predicted_value), ${edges}[concat(${served}, key)]) AS bin
       FROM ${db}.predictions
       WHERE ${IN_SCOPE_SQL} AND isNotNull(predicted_value) AND mapContains(${edges}, concat(${served}, 'p:value'))
       UNION ALL
       SELECT ${WINDOW_START_SQL} AS ws, concat('c:', k) AS key, indexOf(${top}[concat(${served}, key)], v) AS bin
       FROM ${db}.predictions ARRAY JOIN mapKeys(features_categorical) AS k, mapValues(features_categorical) AS v
       WHERE ${IN_SCOPE_SQL} AND mapContains(${top}, concat(${served}, 'c:', k))
       UNION ALL
       SELECT ${WINDOW_START_SQL} AS ws, 'p:class' AS key, indexOf(${top}[concat(${served}, key)], predicted_class) AS bin
       FROM ${db}.predictions
       WHERE ${IN_SCOPE_SQL} AND predicted_class != '' AND mapContains(${top}, concat(${served}, 'p:class'))
     )
     GROUP BY ws, key, bin`,
    {
      ...scopeParams(scope, windowMs),
      shift_ms: shiftMs ?? 0,
      edges: Object.fromEntries(bins.edges),
      top: Object.fromEntries(bins.top),
    },
  );
  return rows.map((r) => ({
    windowStartMs: Number(r.ws),
    key: r.key,
    bin: Number(r.bin),
    count: Number(r.n),
  }));
}
