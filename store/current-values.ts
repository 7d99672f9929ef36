import type { Store } from "./client.js";
import { queryRows } from "./query-rows.js";

/**
 * A window's value stands for its metric's present once it rests on this many events, and on at least this
 * share of what its metric's windows typically rest on (their median): a complete window's few labels (those
 * in by now of an hour-late stream) make a noisy accuracy, as a window still filling does, and thresholds
 * derived from well-labelled reference windows are too narrow for it.
 */
export const CURRENT_MIN_SAMPLE = 30;
export const CURRENT_MIN_SHARE = 0.5;

/** A metric's present value (all traffic), and the window it comes from. */
export interface CurrentValue {
  model: string;
  modelVersion: string;
  metric: string;
  subject: string;
  value: number;
  status: "ok" | "warn" | "alert";
  windowStartMs: number;
  sampleSize: number;
  /**
   * The status of the settled window before the one the value comes from, when the value comes from a
   * settled window and an earlier one is settled too: whether an alert is sustained.
   */
  previousStatus?: "ok" | "warn" | "alert";
}

/**
 * Each metric's present value per model version and subject: its newest window that has ended and rests on
 * enough events (CURRENT_MIN_SAMPLE, CURRENT_MIN_SHARE), or its newest window when it has no such one. So quality is judged on the
 * newest window with labels enough, drift on the newest whole window, and /metrics (Prometheus alerts,
 * Grafana's live panels), the web page and the report all show the same value. Confusion cells are left out.
 */
export async function currentValues(store: Store, nowMs: number = Date.now()): Promise<CurrentValue[]> {
  const rows = await queryRows<{
    model: string;
    model_version: string;
    metric: string;
    subject: string;
    value: number;
    status: CurrentValue["status"];
    ws: number;
    n: number;
    previous: "" | CurrentValue["status"];
  }>(
    store,
    `SELECT model, model_version, metric, subject,
       countIf(settled) > 0 AS any_settled,
       toUnixTimestamp64Milli(if(any_settled, maxIf(window_start, settled), max(window_start))) AS ws,
       if(any_settled, argMaxIf(value, window_start, settled), argMax(value, window_start)) AS value,
       if(any_settled, argMaxIf(status, window_start, settled), argMax(status, window_start)) AS status,
       if(any_settled, argMaxIf(sample_size, window_start, settled), argMax(sample_size, window_start)) AS n,
       -- The second newest settled window's status; '' (out of range) when fewer than two are settled.
       arraySort(groupArrayIf((window_start, window_status), settled))[-2].2 AS previous
     FROM (
       SELECT *, window_end <= fromUnixTimestamp64Milli({now_ms:Int64}, 'UTC')
                 AND sample_size >= greatest({min_sample:UInt32}, {min_share:Float64} * typical) AS settled
       FROM (
         SELECT *, status AS window_status,
           median(sample_size) OVER (PARTITION BY model, model_version, metric, subject) AS typical
         FROM ${store.database}.metrics FINAL
         WHERE segment = '' AND metric NOT IN ('confusion', 'shadow_confusion')
       )
     )
     GROUP BY model, model_version, metric, subject
     ORDER BY model, model_version, metric, subject`,
    { now_ms: nowMs, min_sample: CURRENT_MIN_SAMPLE, min_share: CURRENT_MIN_SHARE },
  );
  return rows.map((r) => ({
    model: r.model,
    modelVersion: r.model_version,
    metric: r.metric,
    subject: r.subject,
    value: r.value,
    status: r.status,
    windowStartMs: Number(r.ws),
    sampleSize: Number(r.n),
    ...(r.previous === "" ? {} : { previousStatus: r.previous }),
  }));
}
