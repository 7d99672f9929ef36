/** Sums over the labelled predictions of a window, gathered in SQL; error = prediction − actual. */
export interface RegressionSums {
  n: number;
  sumError: number;
  sumAbsError: number;
  sumSquaredError: number;
  /** predictions whose actual value is not 0 */
  nonZeroTargets: number;
  /** Σ |error| / |actual| over the non-zero targets only */
  sumAbsPercentError: number;
}

/** Sums over nothing, to add to. */
export function emptyRegressionSums(): RegressionSums {
  return { n: 0, sumError: 0, sumAbsError: 0, sumSquaredError: 0, nonZeroTargets: 0, sumAbsPercentError: 0 };
}

export interface RegressionMetrics {
  mae: number;
  rmse: number;
  /** a fraction (0.05 = 5 %); null when every target is zero */
  mape: number | null;
  /** mean error: positive when the model predicts too high */
  bias: number;
}

/**
 * Regression errors from their sums: bias = Σerror/n, mae = Σ|error|/n, rmse = √(Σerror²/n), as
 * scikit-learn's `mean_absolute_error` and `root_mean_squared_error`.
 *
 * mape = Σ(|error|/|actual|)/nonZeroTargets, a fraction, over the non-zero targets only. This differs from
 * scikit-learn's `mean_absolute_percentage_error`, which keeps zero targets and divides their error by
 * machine epsilon, so a single zero target makes its result astronomically large.
 *
 * @returns undefined when n === 0.
 * @throws RangeError when n or nonZeroTargets is negative, or nonZeroTargets > n.
 */
export function regressionMetrics(s: RegressionSums): RegressionMetrics | undefined {
  if (s.n === 0) return undefined;
  if (!(s.n > 0) || !(s.nonZeroTargets >= 0) || s.nonZeroTargets > s.n)
    throw new RangeError(`regression sums have n=${s.n} and nonZeroTargets=${s.nonZeroTargets}`);
  return {
    mae: s.sumAbsError / s.n,
    rmse: Math.sqrt(s.sumSquaredError / s.n),
    mape: s.nonZeroTargets === 0 ? null : s.sumAbsPercentError / s.nonZeroTargets,
    bias: s.sumError / s.n,
  };
}
