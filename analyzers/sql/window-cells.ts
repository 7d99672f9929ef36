import type { Store } from "../../store/index.js";
import type { RegressionSums } from "../math/index.js";
import { queryRows, type Scope, scopeParams } from "../scope.js";
import { type LabelledJoin, labelledPredictionsSql } from "./labelled.js";

/**
 * The counts every quality metric of a window is computed from: predictions grouped by window, segment,
 * predicted class and the (latest) label's class, with the regression error sums of each group.
 */
export interface WindowCell {
  windowStartMs: number;
  /** "" for all traffic, or `key=value`. */
  segment: string;
  predicted: string;
  /** Whether a label exists for these predictions. */
  hasLabel: boolean;
  /** The label's class ("" when unlabelled or a regression label). */
  actual: string;
  count: number;
  /** Predictions with a value (regression). */
  valued: number;
  /** Over predictions with both a predicted and a label value; error = predicted − label. */
  regression: RegressionSums;
}

interface CellRow {
  ws: number;
  seg: string;
  predicted: string;
  has_label: number;
  actual: string;
  n: number;
  valued: number;
  reg_n: number;
  sum_error: number;
  sum_abs_error: number;
  sum_sq_error: number;
  non_zero: number;
  sum_ape: number;
}

/**
 * One pass over a scope's predictions joined to their labels; `segmentKey` groups by its value too.
 * `join`: from labelledJoin, for this scope.
 */
export async function windowCells(
  store: Store,
  scope: Scope,
  windowMs: number,
  join: LabelledJoin,
  segmentKey?: string,
): Promise<WindowCell[]> {
  const db = store.database;
  const segment = segmentKey === undefined ? "''" : "concat({seg:String}, '=', segments[{seg:String}])";
  const rows = await queryRows<CellRow>(
    store,
    `SELECT ws, seg, predicted, has_label, actual, count() AS n,
       countIf(isNotNull(predicted_value)) AS valued,
       countIf(reg) AS reg_n,
       sumIf(err, reg) AS sum_error,
       sumIf(abs(err), reg) AS sum_abs_error,
       sumIf(err * err, reg) AS sum_sq_error,
       countIf(reg AND label_value != 0) AS non_zero,
       sumIf(abs(err) / abs(label_value), reg AND label_value != 0) AS sum_ape
     FROM (
       SELECT ws, seg, predicted_class AS predicted, predicted_value,
         has_label, label_class AS actual, label_value,
         has_label = 1 AND isNotNull(predicted_value) AND isNotNull(label_value) AS reg,
         assumeNotNull(predicted_value) - assumeNotNull(label_value) AS err
       FROM ${labelledPredictionsSql(db, `${segment} AS seg, predicted_class, predicted_value`, join)}
     )
     GROUP BY ws, seg, predicted, has_label, actual`,
    { ...scopeParams(scope, windowMs), ...join.params, seg: segmentKey ?? "" },
    join.settings,
  );
  return rows.map((r) => ({
    windowStartMs: Number(r.ws),
    segment: r.seg,
    predicted: r.predicted,
    hasLabel: Number(r.has_label) === 1,
    actual: r.actual,
    count: Number(r.n),
    valued: Number(r.valued),
    regression: {
      n: Number(r.reg_n),
      sumError: r.sum_error,
      sumAbsError: r.sum_abs_error,
      sumSquaredError: r.sum_sq_error,
      nonZeroTargets: Number(r.non_zero),
      sumAbsPercentError: r.sum_ape,
    },
  }));
}
