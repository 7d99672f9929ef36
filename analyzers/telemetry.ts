import type { Meter } from "@opentelemetry/api";
import type { CurrentValue } from "../store/index.js";
import { EXPORTED_METRICS, SHADOW_METRICS } from "./metric-names.js";
import type { LastPrediction } from "./results.js";

/**
 * Metrics whose subject is a class (label `class`); drift metrics' subject is a feature (label `feature`),
 * shadow metrics' a candidate (label `candidate`).
 */
const CLASS_METRICS = new Set(["precision", "recall", "f1", "roc_auc"]);
const DRIFT_METRICS = new Set(["kl_divergence", "js_distance", "psi"]);
const CANDIDATE_METRICS: ReadonlySet<string> = new Set(SHADOW_METRICS);
const STATUS_CODE: Record<string, number> = { ok: 0, warn: 1, alert: 2 };

/**
 * Exports each metric's present value on /metrics (its newest whole window resting on enough events: store's
 * currentValues, as the web page shows it), with labels model, version and class, feature or candidate,
 * plus `modelwatch_metric_status` (0 ok, 1 warn, 2 alert), so Prometheus alert rules and Grafana read the
 * same values and verdicts as the metrics table and the page.
 */
export function observeAnalysis(
  meter: Meter,
  latest: () => readonly CurrentValue[],
  lastPredictions: () => readonly LastPrediction[] = () => [],
): void {
  meter
    .createObservableGauge("modelwatch_last_prediction_timestamp_seconds", {
      description:
        "When the newest prediction of each model version was received (as of the last analysis run)",
      unit: "s",
    })
    .addCallback((result) => {
      for (const p of lastPredictions())
        result.observe(p.receivedMs / 1000, { model: p.model, version: p.modelVersion });
    });
  const gauges = new Map(
    EXPORTED_METRICS.map((m) => [
      m,
      meter.createObservableGauge(`modelwatch_${m}`, { description: `Analyzer metric ${m}, present value` }),
    ]),
  );
  const status = meter.createObservableGauge("modelwatch_metric_status", {
    description: "Status of each analyzer metric's present value: 0 ok, 1 warn, 2 alert",
  });
  meter.addBatchObservableCallback(
    (result) => {
      for (const v of latest()) {
        const attributes: Record<string, string> = { model: v.model, version: v.modelVersion };
        if (CLASS_METRICS.has(v.metric)) attributes.class = v.subject;
        else if (DRIFT_METRICS.has(v.metric)) attributes.feature = v.subject;
        else if (CANDIDATE_METRICS.has(v.metric)) attributes.candidate = v.subject;
        const gauge = gauges.get(v.metric as (typeof EXPORTED_METRICS)[number]);
        if (gauge) result.observe(gauge, v.value, attributes);
        result.observe(status, STATUS_CODE[v.status] ?? 0, { ...attributes, metric: v.metric });
      }
    },
    [...gauges.values(), status],
  );
}
