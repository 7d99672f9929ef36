import type { MetricRow, Store } from "../store/index.js";
import { END_OF_TIME_MS, MODELS_SQL, queryRows } from "./scope.js";

/** When modelwatch last received a prediction of a model version. */
export interface LastPrediction {
  model: string;
  modelVersion: string;
  receivedMs: number;
}

/**
 * The newest ingest time per model version among predictions received after `sinceMs` (all when 0): what a
 * "no events from this model" alert watches (the analyzers' windows only move when events come). Callers
 * keep what they learned and ask only for what is newer, so a run reads recent parts, not the history.
 */
export async function lastPredictions(store: Store, sinceMs = 0): Promise<LastPrediction[]> {
  const rows = await queryRows<{ model: string; model_version: string; ms: number }>(
    store,
    `SELECT model, model_version, toUnixTimestamp64Milli(max(ingest_time)) AS ms
     FROM ${store.database}.predictions
     WHERE ingest_time > fromUnixTimestamp64Milli({since_ms:Int64}, 'UTC')
     GROUP BY model, model_version`,
    { since_ms: sinceMs },
  );
  return rows.map((r) => ({ model: r.model, modelVersion: r.model_version, receivedMs: Number(r.ms) }));
}

/** A stored metric row, as analysts read it: the window by its start in ISO 8601. */
export type StoredMetric = Omit<MetricRow, "windowStartMs" | "windowEndMs" | "status"> & {
  windowStart: string;
  status: string;
};

/** The stored metrics of windows starting in [fromMs, toMs), for the models asked (all when none). */
export async function storedMetrics(
  store: Store,
  range: { models?: readonly string[]; fromMs?: number; toMs?: number },
): Promise<StoredMetric[]> {
  const rows = await queryRows<{
    window_text: string;
    model: string;
    model_version: string;
    segment: string;
    metric: string;
    subject: string;
    value: number;
    sample_size: number;
    reference: string;
    status: string;
  }>(
    store,
    `SELECT formatDateTime(window_start, '%Y-%m-%dT%H:%i:%SZ') AS window_text, model, model_version, segment,
       metric, subject, value, sample_size, reference, status
     FROM ${store.database}.metrics FINAL
     WHERE ${MODELS_SQL}
       AND window_start >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
       AND window_start < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
     ORDER BY model, model_version, window_start, segment, metric, subject`,
    { models: range.models ?? [], from_ms: range.fromMs ?? 0, to_ms: range.toMs ?? END_OF_TIME_MS },
  );
  return rows.map((r) => ({
    windowStart: r.window_text,
    model: r.model,
    modelVersion: r.model_version,
    segment: r.segment,
    metric: r.metric,
    subject: r.subject,
    value: r.value,
    sampleSize: Number(r.sample_size),
    reference: r.reference,
    status: r.status,
  }));
}

/** A stored metric's value in one window. */
export interface StoredValue {
  segment: string;
  metric: string;
  subject: string;
  windowStartMs: number;
  value: number;
  sampleSize: number;
}

/** Values of some metrics of one model version in the windows starting in [fromMs, toMs). */
export async function metricValues(
  store: Store,
  q: { model: string; modelVersion: string; metrics: readonly string[]; fromMs: number; toMs: number },
): Promise<StoredValue[]> {
  const rows = await queryRows<{
    segment: string;
    metric: string;
    subject: string;
    ws: number;
    value: number;
    sample_size: number;
  }>(
    store,
    `SELECT segment, metric, subject, toUnixTimestamp64Milli(window_start) AS ws, value, sample_size
     FROM ${store.database}.metrics FINAL
     WHERE model = {model:String} AND model_version = {version:String} AND has({metrics:Array(String)}, metric)
       AND window_start >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
       AND window_start < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')`,
    { model: q.model, version: q.modelVersion, metrics: q.metrics, from_ms: q.fromMs, to_ms: q.toMs },
  );
  return rows.map(({ ws, sample_size, ...r }) => ({
    ...r,
    windowStartMs: Number(ws),
    sampleSize: Number(sample_size),
  }));
}
