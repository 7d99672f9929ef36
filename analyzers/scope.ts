import { queryRows } from "../store/index.js";

/** The windows of one model version that a run (re)computes, by start time (epoch ms, ascending). */
export interface Scope {
  model: string;
  modelVersion: string;
  windowStartsMs: number[];
}

/**
 * A prediction's window: tumbling windows aligned to the Unix epoch (so to UTC hours and days for sizes that
 * divide them), by event time.
 */
export const WINDOW_START_SQL = "intDiv(toUnixTimestamp64Milli(time), {window_ms:Int64}) * {window_ms:Int64}";

/**
 * Rows of `predictions` in a scope; the time range lets the primary key skip everything else. When the
 * scope's windows are every window of its range (`contiguous`, a constant the engine folds away), no row's
 * window is looked up in the list: that took 85 ms of a day's 100 ms count.
 */
export const IN_SCOPE_SQL = `model = {model:String} AND model_version = {version:String}
  AND time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
  AND time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
  AND ({contiguous:Bool} OR has({windows:Array(Int64)}, ${WINDOW_START_SQL}))`;

/** Rows of the models named by the `{models:Array(String)}` parameter; every model when it is empty. */
export const MODELS_SQL = "(empty({models:Array(String)}) OR has({models:Array(String)}, model))";

/** The upper time bound when none is asked for: 9999-12-31. */
export const END_OF_TIME_MS = 253_402_300_799_000;

/**
 * Settings for statements that scan a scope's predictions: read on every core from 2 granules up. The
 * engine's default (20 granules, 160 MB) reads an hour of one model version (140,000 predictions) on one
 * thread, and the embedded engine runs one statement at a time: measured 170 ms → 95 ms for an hour's
 * drift bins.
 */
export const SCAN_SETTINGS = {
  merge_tree_min_rows_for_concurrent_read: "16384",
  merge_tree_min_bytes_for_concurrent_read: "1",
} as const;

export function scopeParams(scope: Scope, windowMs: number): Record<string, unknown> {
  const starts = scope.windowStartsMs;
  const first = starts[0] ?? 0;
  const last = starts[starts.length - 1] ?? 0;
  return {
    contiguous: starts.length === (last - first) / windowMs + 1,
    model: scope.model,
    version: scope.modelVersion,
    window_ms: windowMs,
    from_ms: first,
    to_ms: last + windowMs,
    windows: starts,
  };
}

/** Analyzer reads use the store's row reader. */
export { queryRows };
