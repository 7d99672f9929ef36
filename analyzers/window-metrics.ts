import type { MetricRow } from "../store/index.js";
import { sum, tally } from "./counts.js";
import {
  classificationMetrics,
  compareDistributions,
  type Divergences,
  emptyRegressionSums,
  regressionMetrics,
  statusOf,
  type ThresholdRule,
} from "./math/index.js";
import { PREDICTED_CLASS_KEY } from "./sql/distributions.js";
import type { WindowCell } from "./sql/window-cells.js";

/** Which window of which model version, and the segment ("" for all traffic). */
export interface WindowKey {
  model: string;
  modelVersion: string;
  segment: string;
  windowStartMs: number;
  windowMs: number;
}

/** Bin counts of one key (`n:age`, `p:class`…) in the window and in its reference, aligned by bin. */
export interface KeyDistributions {
  key: string;
  current: number[];
  reference: number[];
}

export type Thresholds = Readonly<Record<string, ThresholdRule>>;

/** A subject for each drift key: the feature's name, or `prediction.class` / `prediction.value`. */
export function driftSubject(key: string): string {
  if (key === PREDICTED_CLASS_KEY) return "prediction.class";
  if (key === "p:value") return "prediction.value";
  return key.slice(2);
}

/** One value of a window as a metrics-table row, with its status under the thresholds. */
export function metricRow(
  at: WindowKey,
  metric: string,
  subject: string,
  value: number,
  sampleSize: number,
  reference: string,
  thresholds: Thresholds,
): MetricRow {
  return {
    windowStartMs: at.windowStartMs,
    windowEndMs: at.windowStartMs + at.windowMs,
    model: at.model,
    modelVersion: at.modelVersion,
    segment: at.segment,
    metric,
    subject,
    value,
    sampleSize,
    reference,
    status: statusOf(value, thresholds[metric]),
  };
}

/** Metric math on a window's counts, as rows for the metrics table. Pure: counts in, rows out. */
export function windowMetrics(
  at: WindowKey,
  cells: readonly WindowCell[],
  drift: { reference: string; distributions: readonly KeyDistributions[] } | undefined,
  thresholds: Thresholds,
): MetricRow[] {
  const rows: MetricRow[] = [];
  const push = (metric: string, subject: string, value: number, sampleSize: number, reference = "") => {
    if (Number.isFinite(value))
      rows.push(metricRow(at, metric, subject, value, sampleSize, reference, thresholds));
  };

  const count = sum(cells, (c) => c.count);
  if (count > 0) push("count", "", count, count);

  // Classification: labelled predictions with a class on both sides.
  const classified = cells.filter((c) => c.hasLabel && c.actual !== "" && c.predicted !== "");
  const labelledClasses = sum(classified, (c) => c.count);
  const regression = mergeRegression(cells);
  const labelled = Math.max(labelledClasses, regression.n);
  if (count > 0) {
    push("labelled_count", "", labelled, count);
    push("label_coverage", "", labelled / count, count);
  }
  const cm = classificationMetrics(
    classified.map((c) => ({ predicted: c.predicted, actual: c.actual, count: c.count })),
  );
  if (cm) {
    push("accuracy", "", cm.accuracy, cm.labelled);
    for (const k of cm.perClass) {
      push("precision", k.cls, k.precision, k.predicted);
      push("recall", k.cls, k.recall, k.support);
      push("f1", k.cls, k.f1, k.support);
    }
    for (const [avg, v] of [
      ["macro", cm.macro],
      ["weighted", cm.weighted],
    ] as const) {
      push(`precision_${avg}`, "", v.precision, cm.labelled);
      push(`recall_${avg}`, "", v.recall, cm.labelled);
      push(`f1_${avg}`, "", v.f1, cm.labelled);
    }
    const confusion = new Map<string, number>();
    for (const c of classified) {
      const subject = `${c.predicted}|${c.actual}`;
      confusion.set(subject, (confusion.get(subject) ?? 0) + c.count);
    }
    for (const [subject, n] of confusion) push("confusion", subject, n, cm.labelled);

    // How far what the model says is from what happened: predicted classes (all predictions) against the
    // labels' classes in the same window.
    const predicted = tally(
      cells.filter((c) => c.predicted !== ""),
      (c) => c.predicted,
    );
    const actual = tally(classified, (c) => c.actual);
    const classes = [...new Set([...predicted.keys(), ...actual.keys()])].sort();
    const d = compareDistributions(
      classes.map((k) => predicted.get(k) ?? 0),
      classes.map((k) => actual.get(k) ?? 0),
    );
    if (d) pushDivergences(push, d, "prediction_label_", "", labelledClasses, "labels");
  }

  const rm = regressionMetrics(regression);
  if (rm) {
    push("mae", "", rm.mae, regression.n);
    push("rmse", "", rm.rmse, regression.n);
    push("bias", "", rm.bias, regression.n);
    if (rm.mape !== null) push("mape", "", rm.mape, regression.nonZeroTargets);
  }

  for (const dist of drift?.distributions ?? []) {
    const d = compareDistributions(dist.current, dist.reference);
    if (d) pushDivergences(push, d, "", driftSubject(dist.key), total(dist.current), drift?.reference ?? "");
  }
  return rows;
}

/** The three divergences of `d` as rows `<prefix>kl_divergence`, `<prefix>js_distance`, `<prefix>psi`. */
export function pushDivergences(
  push: (metric: string, subject: string, value: number, n: number, reference: string) => void,
  d: Divergences,
  prefix: string,
  subject: string,
  n: number,
  reference: string,
): void {
  push(`${prefix}kl_divergence`, subject, d.kl, n, reference);
  push(`${prefix}js_distance`, subject, d.jsDistance, n, reference);
  push(`${prefix}psi`, subject, d.psi, n, reference);
}

function mergeRegression(cells: readonly WindowCell[]): WindowCell["regression"] {
  const r = emptyRegressionSums();
  for (const c of cells) {
    r.n += c.regression.n;
    r.sumError += c.regression.sumError;
    r.sumAbsError += c.regression.sumAbsError;
    r.sumSquaredError += c.regression.sumSquaredError;
    r.nonZeroTargets += c.regression.nonZeroTargets;
    r.sumAbsPercentError += c.regression.sumAbsPercentError;
  }
  return r;
}

function total(counts: readonly number[]): number {
  return counts.reduce((a, b) => a + b, 0);
}
