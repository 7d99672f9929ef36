/** Every metric the analyzers write but the confusion cells, each exported as `modelwatch_<metric>`. */
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
] as const;

export type MetricName = (typeof EXPORTED_METRICS)[number];
