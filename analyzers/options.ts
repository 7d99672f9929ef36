import type { Thresholds } from "./window-metrics.js";

/** What drift is measured against. */
export type ReferenceChoice =
  /** The first full UTC day of each model version (the default). */
  | { kind: "first-day" }
  /** A fixed range, the same for every model version. */
  | { kind: "range"; fromMs: number; toMs: number }
  /** Each window against the one before it. */
  | { kind: "previous" };

export interface AnalysisOptions {
  /** Tumbling window size. */
  windowMs: number;
  reference: ReferenceChoice;
  /** Segment keys (`ml.segment.<key>`) to break quality metrics down by, besides all traffic. */
  segments: readonly string[];
  /** Categorical values binned on their own (the reference's most frequent); the rest share "other". */
  categoricalTopN: number;
  thresholds: Thresholds;
  /**
   * Incremental runs look this far before the last run's start: an insert under way when a run starts is
   * stamped before it but visible only after the run read.
   */
  lateVisibilityMs: number;
}

const band = (warn: number, alert: number) => ({ warn: { max: warn }, alert: { max: alert } });

/** Alert when a value leaves its reference windows' mean ± 3 standard deviations (NannyML's default). */
const fromReference = { referenceK: 3 };

/**
 * Thresholds used unless configured: the drift bands practitioners use (PSI 0.1 / 0.25 is the industry's
 * rule of thumb; KL and JS bands of the same spirit), and for quality metrics a band derived from the
 * reference, since a good accuracy depends on the model.
 */
export const DEFAULT_THRESHOLDS: Thresholds = {
  kl_divergence: band(0.1, 0.2),
  js_distance: band(0.1, 0.2),
  psi: band(0.1, 0.25),
  prediction_label_kl_divergence: band(0.1, 0.2),
  prediction_label_js_distance: band(0.1, 0.2),
  prediction_label_psi: band(0.1, 0.25),
  accuracy: fromReference,
  precision_macro: fromReference,
  recall_macro: fromReference,
  f1_macro: fromReference,
  roc_auc: fromReference,
  mae: fromReference,
  rmse: fromReference,
  mape: fromReference,
};

export const DEFAULT_ANALYSIS: AnalysisOptions = {
  windowMs: 3_600_000,
  reference: { kind: "first-day" },
  segments: [],
  categoricalTopN: 20,
  thresholds: DEFAULT_THRESHOLDS,
  lateVisibilityMs: 60_000,
};

/** Identifies a configuration: results and progress of one do not carry over to another. */
export function configKey(o: AnalysisOptions): string {
  const ref =
    o.reference.kind === "range" ? `range:${o.reference.fromMs}-${o.reference.toMs}` : o.reference.kind;
  return `window=${o.windowMs};reference=${ref};segments=${[...o.segments].sort().join(",")};top=${o.categoricalTopN}`;
}
