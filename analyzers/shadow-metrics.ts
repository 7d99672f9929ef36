import type { MetricRow } from "../store/index.js";
import { sum, tally } from "./counts.js";
import { classificationMetrics, compareDistributions, regressionMetrics } from "./math/index.js";
import type { ShadowCell, ShadowWindow } from "./sql/shadow-cells.js";
import { metricRow, pushDivergences, type Thresholds, type WindowKey } from "./window-metrics.js";

/** What shadow_kl_divergence and its kin compare the candidate with: D(candidate ‖ production). */
export const SHADOW_REFERENCE = "production";

/**
 * A candidate compared with production on the predictions it answered in one window, as metrics rows whose
 * subject is the candidate's name (a confusion cell's: `candidate|production class|candidate class`). Pure:
 * counts in, rows out; values that are not finite are left out.
 *
 * Classes are compared where both sides gave one; values (regression) where both gave one, and their
 * divergences only when no class was compared, so a model that gives both has one set of divergences.
 * Quality is measured on the labelled ones of those same predictions, both sides by the same math as the
 * production metrics (`accuracy`, `recall_macro`, …), and each `…_delta` is candidate − production.
 */
export function shadowMetrics(at: WindowKey, w: ShadowWindow, thresholds: Thresholds): MetricRow[] {
  const rows: MetricRow[] = [];
  const subject = w.candidate;
  const push = (metric: string, s: string, value: number, sampleSize: number, reference = "") => {
    if (Number.isFinite(value)) rows.push(metricRow(at, metric, s, value, sampleSize, reference, thresholds));
  };
  /** The candidate's value, production's, and the difference, over the same predictions. */
  const paired = (metric: string, candidate: number, production: number, n: number) => {
    push(`shadow_${metric}`, subject, candidate, n);
    push(`shadow_production_${metric}`, subject, production, n);
    push(`shadow_${metric}_delta`, subject, candidate - production, n);
  };

  if (w.count === 0) return rows;
  push("shadow_count", subject, w.count, w.count);
  push("shadow_latency_ms", subject, w.sumLatencyMs / w.count, w.count);

  const classified = w.cells.filter((c) => c.predicted !== "" && c.candidateClass !== "" && c.count > 0);
  const compared = sum(classified, count);
  if (compared > 0) {
    const agreed = sum(
      classified.filter((c) => c.predicted === c.candidateClass),
      count,
    );
    push("shadow_agreement", subject, agreed / compared, compared);
    const confusion = tally(classified, (c) => `${subject}|${c.predicted}|${c.candidateClass}`);
    for (const [cell, n] of confusion) push("shadow_confusion", cell, n, compared);

    const production = tally(classified, (c) => c.predicted);
    const candidate = tally(classified, (c) => c.candidateClass);
    const classes = [...new Set([...production.keys(), ...candidate.keys()])].sort();
    const d = compareDistributions(
      classes.map((k) => candidate.get(k) ?? 0),
      classes.map((k) => production.get(k) ?? 0),
    );
    if (d) pushDivergences(push, d, "shadow_", subject, compared, SHADOW_REFERENCE);

    const labelled = classified.filter((c) => c.hasLabel && c.actual !== "");
    const candidateQuality = classificationMetrics(
      labelled.map((c) => ({ predicted: c.candidateClass, actual: c.actual, count: c.count })),
    );
    const productionQuality = classificationMetrics(
      labelled.map((c) => ({ predicted: c.predicted, actual: c.actual, count: c.count })),
    );
    if (candidateQuality && productionQuality) {
      const n = candidateQuality.labelled;
      paired("accuracy", candidateQuality.accuracy, productionQuality.accuracy, n);
      paired("recall_macro", candidateQuality.macro.recall, productionQuality.macro.recall, n);
      paired("f1_macro", candidateQuality.macro.f1, productionQuality.macro.f1, n);
    }
  }

  const v = w.values;
  if (v.pairs > 0) {
    push("shadow_mean_abs_difference", subject, v.sumAbsDifference / v.pairs, v.pairs);
    if (compared === 0) {
      const d = compareDistributions(v.candidateBins, v.productionBins);
      if (d) pushDivergences(push, d, "shadow_", subject, v.pairs, SHADOW_REFERENCE);
    }
    const candidate = regressionMetrics(v.candidate);
    const production = regressionMetrics(v.production);
    if (candidate && production) {
      paired("mae", candidate.mae, production.mae, v.candidate.n);
      paired("rmse", candidate.rmse, production.rmse, v.candidate.n);
    }
  }
  return rows;
}

const count = (c: ShadowCell) => c.count;
