/**
 * Comparisons of a shadow candidate with production (subject: the candidate), each exported as
 * `modelwatch_<metric>` with the label `candidate`.
 */
export const SHADOW_METRICS = [
  "shadow_count",
  "shadow_latency_ms",
  "shadow_agreement",
  "shadow_kl_divergence",
  "shadow_js_distance",
  "shadow_psi",
  "shadow_mean_abs_difference",
  "shadow_accuracy",
  "shadow_production_accuracy",
  "shadow_accuracy_delta",
  "shadow_recall_macro",
  "shadow_production_recall_macro",
  "shadow_recall_macro_delta",
  "shadow_f1_macro",
  "shadow_production_f1_macro",
  "shadow_f1_macro_delta",
  "shadow_mae",
  "shadow_production_mae",
  "shadow_mae_delta",
  "shadow_rmse",
  "shadow_production_rmse",
  "shadow_rmse_delta",
] as const;

/**
 * Every metric the analyzers write but the confusion cells (`confusion`, `shadow_confusion`), each exported
 * as `modelwatch_<metric>`.
 */
export const EXPORTED_METRICS = [
  "count",
  "labelled_count",
  "label_coverage",
  "accuracy",
  "precision",
  "recall",
  "f1",
  "precision_macro",
  "recall_macro",
  "f1_macro",
  "precision_weighted",
  "recall_weighted",
  "f1_weighted",
  "roc_auc",
  "mae",
  "rmse",
  "mape",
  "bias",
  "kl_divergence",
  "js_distance",
  "psi",
  "prediction_label_kl_divergence",
  "prediction_label_js_distance",
  "prediction_label_psi",
  ...SHADOW_METRICS,
] as const;

export type MetricName = (typeof EXPORTED_METRICS)[number];

const DIVERGENCES = ["kl_divergence", "js_distance", "psi"];

/** Metrics that are better higher. */
const HIGHER_IS_BETTER: ReadonlySet<string> = new Set([
  "accuracy",
  "roc_auc",
  "label_coverage",
  ...["precision", "recall", "f1"].flatMap((m) => [m, `${m}_macro`, `${m}_weighted`]),
]);

/** Metrics that are better lower: errors, divergences. */
const LOWER_IS_BETTER: ReadonlySet<string> = new Set([
  "mae",
  "rmse",
  "mape",
  ...DIVERGENCES,
  ...DIVERGENCES.map((d) => `prediction_label_${d}`),
]);

/** Metrics whose value is a count of their sample rather than estimated from it. */
const COUNTS: ReadonlySet<string> = new Set([
  "count",
  "labelled_count",
  "confusion",
  "shadow_count",
  "shadow_confusion",
]);

/** Whether a metric is estimated from its sample (a rate, a mean, a divergence): noisier the smaller it is. */
export function isSampleEstimate(metric: string): boolean {
  return !COUNTS.has(metric);
}

/** Which way a metric is better: "higher", "lower", or undefined for neither (a count, a bias). */
export function betterDirection(metric: string): "higher" | "lower" | undefined {
  if (HIGHER_IS_BETTER.has(metric)) return "higher";
  return LOWER_IS_BETTER.has(metric) ? "lower" : undefined;
}
