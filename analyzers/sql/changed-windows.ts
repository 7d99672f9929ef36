import type { Store } from "../../store/index.js";
import { END_OF_TIME_MS, MODELS_SQL, queryRows, type Scope, WINDOW_START_SQL } from "../scope.js";

interface ScopeRow {
  model: string;
  model_version: string;
  windows: number[];
}

const toScopes = (rows: ScopeRow[]): Scope[] =>
  rows.map((r) => ({ model: r.model, modelVersion: r.model_version, windowStartsMs: r.windows.map(Number) }));

/**
 * Windows whose data changed after `sinceMs` (ingest time): those holding predictions stored since, and
 * those holding the predictions that labels stored since refer to, however old (found by id in
 * `predictions`, whose per-granule min/max of the id let the engine skip granules holding none of them),
 * and those holding predictions a candidate answered since (a replay answers old predictions, which
 * `shadow_predictions` keeps at their own event time and version). Work per run follows what arrived, not
 * the history.
 *
 * The predictions are searched within each model's range of the new labels' ids (ids are mostly made in
 * time order, sequential or UUIDv7, so a range of new ids covers few granules), among those stored up to
 * `sinceMs` (newer ones are taken whole already, and the arrival-time index skips their granules: an
 * hour's labels, mostly of that hour's predictions, were looked up in 35 ms instead of 100 ms), and the
 * rows there are matched by a 64-bit hash of (model, id). A set of (model, id) pairs the engine could
 * search with cost more to build than the search saved (an hour's 208,000 labels: 200 ms to build). A hash
 * shared by two pairs can only add a window to recompute, never leave one out. Measured on the bench's 10
 * million predictions: labels of an hour 12 hours back found in ~100 ms; with ids in no order every
 * granule of the labelled models is read, ~0.3 s.
 */
export async function windowsChangedSince(
  store: Store,
  windowMs: number,
  sinceMs: number,
  models: readonly string[],
): Promise<Scope[]> {
  const db = store.database;
  const newLabels = `${db}.labels WHERE ingest_time > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') AND ${MODELS_SQL}`;
  const ranges = await queryRows<{ model: string; lo: string; hi: string }>(
    store,
    `SELECT model, min(prediction_id) AS lo, max(prediction_id) AS hi FROM ${newLabels} GROUP BY model`,
    { since_ms: sinceMs, models },
  );
  const byId = idRanges(ranges, newLabels);
  const labelled =
    ranges.length === 0
      ? ""
      : `UNION ALL
       SELECT model, model_version, ${WINDOW_START_SQL} AS ws
       FROM ${db}.predictions
       WHERE (${byId.condition})
         AND ingest_time <= fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')
         AND cityHash64(model, prediction_id) IN (SELECT cityHash64(model, prediction_id) FROM ${newLabels})`;
  const rows = await queryRows<ScopeRow>(
    store,
    `SELECT model, model_version, arraySort(groupUniqArray(ws)) AS windows
     FROM (
       SELECT model, model_version, ${WINDOW_START_SQL} AS ws
       FROM ${db}.predictions
       WHERE ingest_time > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') AND ${MODELS_SQL}
       ${labelled}
       UNION ALL
       SELECT model, model_version, ${WINDOW_START_SQL} AS ws
       FROM ${db}.shadow_predictions
       WHERE run_time > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC') AND ${MODELS_SQL}
     )
     GROUP BY model, model_version
     ORDER BY model, model_version`,
    { window_ms: windowMs, since_ms: sinceMs, models, ...byId.params },
    // The hashes are matched row by row, not used to search the indexes (the ranges do that).
    { use_index_for_in_with_subqueries: 0 },
  );
  return toScopes(rows);
}

/** Models with new labels past this share one range of ids (the condition stays small). */
const MAX_MODEL_RANGES = 100;

/**
 * The id ranges as a condition on `predictions`' id index, with the parameters it names; past
 * MAX_MODEL_RANGES models, one range over all of `newLabels` (compared by the engine, byte by byte).
 */
function idRanges(
  ranges: ReadonlyArray<{ model: string; lo: string; hi: string }>,
  newLabels: string,
): { condition: string; params: Record<string, string> } {
  if (ranges.length > MAX_MODEL_RANGES)
    return {
      condition: `prediction_id BETWEEN (SELECT min(prediction_id) FROM ${newLabels}) AND (SELECT max(prediction_id) FROM ${newLabels})`,
      params: {},
    };
  const params: Record<string, string> = {};
  const condition = ranges
    .map((r, i) => {
      Object.assign(params, { [`m${i}`]: r.model, [`lo${i}`]: r.lo, [`hi${i}`]: r.hi });
      return `(model = {m${i}:String} AND prediction_id BETWEEN {lo${i}:String} AND {hi${i}:String})`;
    })
    .join(" OR ");
  return { condition, params };
}

/** Every window with predictions in [fromMs, toMs) (event time), for the models asked (all when none). */
export async function windowsInRange(
  store: Store,
  windowMs: number,
  range: { fromMs?: number; toMs?: number; modelVersion?: string },
  models: readonly string[],
): Promise<Scope[]> {
  const rows = await queryRows<ScopeRow>(
    store,
    // Distinct windows first, then gathered per version: 0.25 s against 0.5 s for 10 million predictions
    // gathered into each version's array directly.
    `SELECT model, model_version, arraySort(groupArray(ws)) AS windows
     FROM (
       SELECT DISTINCT model, model_version, ${WINDOW_START_SQL} AS ws
       FROM ${store.database}.predictions
       WHERE ${MODELS_SQL}
         AND time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
         AND time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
         AND ({by_version:UInt8} = 0 OR model_version = {version:String})
     )
     GROUP BY model, model_version
     ORDER BY model, model_version`,
    {
      window_ms: windowMs,
      models,
      from_ms: range.fromMs ?? 0,
      to_ms: range.toMs ?? END_OF_TIME_MS,
      by_version: range.modelVersion === undefined ? 0 : 1,
      version: range.modelVersion ?? "",
    },
  );
  return toScopes(rows);
}
