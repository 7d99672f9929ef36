import { currentValues, queryRows, type Store } from "../store/index.js";

/** A model version's health in its newest analysed window, from the statuses the thresholds gave. */
export type Health = "healthy" | "drifting" | "degraded";

export interface ModelHealth {
  model: string;
  version: string;
  health: Health;
  /** Start of the newest window a status was taken from, epoch ms. */
  windowStartMs: number;
  /**
   * The alerts the health counts, `metric` or `metric:subject`: drift metrics in alert in their newest
   * window, quality metrics in alert in their newest two (see modelHealth).
   */
  alerts: string[];
  /** Predictions in that window. */
  predictions: number;
}

/** Metrics whose alert means the inputs or outputs moved (drifting), not that quality fell (degraded). */
const DRIFT = new Set([
  "kl_divergence",
  "js_distance",
  "psi",
  "prediction_label_kl_divergence",
  "prediction_label_js_distance",
  "prediction_label_psi",
  "shadow_kl_divergence",
  "shadow_js_distance",
  "shadow_psi",
]);

/**
 * Each model version's health from its metrics' present values (store's currentValues, as /metrics exports
 * them): degraded when a quality metric is in alert in its newest two settled windows, else drifting when a
 * drift metric is in alert, else healthy. A quality metric's band (mean ± 3 sd of the baseline's windows)
 * leaves some windows outside by chance: 1.75 % of them for a rare class's precision (a simulation of the
 * demo's fraud model). One window in alert is a reason to look, two in a row a degradation, as the
 * Prometheus rules wait (`for:`) before they fire. Drift bands are fixed and seldom crossed by chance.
 */
export async function modelHealth(store: Store, nowMs: number = Date.now()): Promise<ModelHealth[]> {
  const byVersion = new Map<string, ModelHealth>();
  for (const v of await currentValues(store, nowMs)) {
    const key = JSON.stringify([v.model, v.modelVersion]);
    let h = byVersion.get(key);
    if (!h) {
      h = {
        model: v.model,
        version: v.modelVersion,
        health: "healthy",
        windowStartMs: 0,
        alerts: [],
        predictions: 0,
      };
      byVersion.set(key, h);
    }
    h.windowStartMs = Math.max(h.windowStartMs, v.windowStartMs);
    if (v.metric === "count") h.predictions = v.value;
    const counted = DRIFT.has(v.metric) || v.previousStatus === "alert";
    if (v.status === "alert" && counted)
      h.alerts.push(v.subject === "" ? v.metric : `${v.metric}:${v.subject}`);
  }
  return [...byVersion.values()].map((h) => {
    h.alerts.sort();
    const metrics = h.alerts.map((a) => a.split(":")[0] as string);
    h.health = metrics.some((m) => !DRIFT.has(m)) ? "degraded" : metrics.length > 0 ? "drifting" : "healthy";
    return h;
  });
}

/** One metric's value per window (null where the window has none), with its statuses. */
export interface Series {
  metric: string;
  subject: string;
  values: (number | null)[];
  statuses: (string | null)[];
}

/** What the page and the report show of one model version over a time range. */
export interface ModelView {
  model: string;
  version: string;
  versions: string[];
  fromMs: number;
  toMs: number;
  /** The analysed windows' starts, ascending; every series is aligned to them. */
  windows: number[];
  windowMs: number;
  /** Accuracy, macro recall and F1 (classification) or MAE and RMSE (regression). */
  quality: Series[];
  /** Labelled predictions over the range by predicted class and by actual class. */
  classMix: { cls: string; predicted: number; actual: number }[];
  /** KL divergence of each feature (and the predicted class) per window. */
  drift: Series[];
  /** Serving latency quantiles per window, ms. */
  latency: { p50: (number | null)[]; p95: (number | null)[] };
  /** Each shadow candidate's agreement with production per window. */
  shadow: Series[];
  /** Every stored value behind the charts: window start (ISO), metric, subject, value, sample size, status. */
  numbers: {
    window: string;
    metric: string;
    subject: string;
    value: number;
    sampleSize: number;
    status: string;
  }[];
}

const QUALITY = ["accuracy", "recall_macro", "f1_macro", "mae", "rmse"];

/**
 * The view of a model over [fromMs, toMs): its newest version unless `version` is given. Undefined when
 * the model has no analysed window in the range.
 */
export async function modelView(
  store: Store,
  model: string,
  range: { fromMs: number; toMs: number; version?: string },
): Promise<ModelView | undefined> {
  const db = store.database;
  const params = { model, from_ms: range.fromMs, to_ms: range.toMs };
  const inRange = `model = {model:String} AND segment = ''
    AND window_start >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC')
    AND window_start < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')`;
  const versions = await queryRows<{ version: string; newest: number }>(
    store,
    `SELECT model_version AS version, toUnixTimestamp64Milli(max(window_start)) AS newest
     FROM ${db}.metrics FINAL WHERE ${inRange} GROUP BY version ORDER BY newest DESC, version`,
    params,
  );
  const version = range.version ?? versions[0]?.version;
  if (version === undefined || !versions.some((v) => v.version === version)) return undefined;
  const values = await queryRows<{
    ws: number;
    we: number;
    metric: string;
    subject: string;
    value: number;
    n: number;
    status: string;
  }>(
    store,
    `SELECT toUnixTimestamp64Milli(window_start) AS ws, toUnixTimestamp64Milli(window_end) AS we, metric, subject,
       value, sample_size AS n, status
     FROM ${db}.metrics FINAL
     WHERE ${inRange} AND model_version = {version:String}
     ORDER BY ws, metric, subject`,
    { ...params, version },
  );
  const windows = [...new Set(values.map((v) => Number(v.ws)))].sort((a, b) => a - b);
  const windowMs = values.length > 0 ? Number(values[0]?.we) - Number(values[0]?.ws) : 3_600_000;
  const index = new Map(windows.map((w, i) => [w, i]));
  const series = (keep: (metric: string) => boolean): Series[] => {
    const bySeries = new Map<string, Series>();
    for (const v of values) {
      if (!keep(v.metric)) continue;
      const id = `${v.metric}\u0000${v.subject}`;
      let s = bySeries.get(id);
      if (!s) {
        s = {
          metric: v.metric,
          subject: v.subject,
          values: windows.map(() => null),
          statuses: windows.map(() => null),
        };
        bySeries.set(id, s);
      }
      const i = index.get(Number(v.ws)) as number;
      s.values[i] = v.value;
      s.statuses[i] = v.status;
    }
    return [...bySeries.values()];
  };
  const quality = series((m) => QUALITY.includes(m)).sort(
    (a, b) => QUALITY.indexOf(a.metric) - QUALITY.indexOf(b.metric),
  );
  const mix = new Map<string, { cls: string; predicted: number; actual: number }>();
  const at = (cls: string) => {
    const m = mix.get(cls) ?? { cls, predicted: 0, actual: 0 };
    mix.set(cls, m);
    return m;
  };
  for (const v of values)
    if (v.metric === "confusion") {
      const [predicted, actual] = v.subject.split("|") as [string, string];
      at(predicted).predicted += v.value;
      at(actual).actual += v.value;
    }
  const latencyRows = await queryRows<{ ws: number; p50: number; p95: number }>(
    store,
    `SELECT intDiv(toUnixTimestamp64Milli(time), {window_ms:Int64}) * {window_ms:Int64} AS ws,
       quantileExact(0.5)(assumeNotNull(latency_ms)) AS p50, quantileExact(0.95)(assumeNotNull(latency_ms)) AS p95
     FROM ${db}.predictions
     WHERE model = {model:String} AND model_version = {version:String} AND isNotNull(latency_ms)
       AND time >= fromUnixTimestamp64Milli({from_ms:Int64}, 'UTC') AND time < fromUnixTimestamp64Milli({to_ms:Int64}, 'UTC')
     GROUP BY ws`,
    { ...params, version, window_ms: windowMs },
  );
  const latency = {
    p50: windows.map(() => null as number | null),
    p95: windows.map(() => null as number | null),
  };
  for (const r of latencyRows) {
    const i = index.get(Number(r.ws));
    if (i === undefined) continue;
    latency.p50[i] = r.p50;
    latency.p95[i] = r.p95;
  }
  return {
    model,
    version,
    versions: versions.map((v) => v.version),
    fromMs: range.fromMs,
    toMs: range.toMs,
    windows,
    windowMs,
    quality,
    classMix: [...mix.values()].sort((a, b) => (a.cls < b.cls ? -1 : 1)),
    drift: series((m) => m === "kl_divergence").sort((a, b) => (a.subject < b.subject ? -1 : 1)),
    latency,
    shadow: series((m) => m === "shadow_agreement"),
    numbers: values
      .filter((v) => v.metric !== "confusion")
      .map((v) => ({
        window: new Date(Number(v.ws)).toISOString(),
        metric: v.metric,
        subject: v.subject,
        value: v.value,
        sampleSize: Number(v.n),
        status: v.status,
      })),
  };
}
