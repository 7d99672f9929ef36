import { describe, expect, it } from "vitest";
import {
  emptyRegressionSums,
  type RegressionSums,
  regressionMetrics,
} from "../../../analyzers/math/index.js";

/** The sums the SQL gathers, here over (prediction, actual) pairs written out in the test. */
function sumsOf(pairs: readonly (readonly [prediction: number, actual: number])[]): RegressionSums {
  const s = emptyRegressionSums();
  for (const [prediction, actual] of pairs) {
    const error = prediction - actual;
    s.n += 1;
    s.sumError += error;
    s.sumAbsError += Math.abs(error);
    s.sumSquaredError += error * error;
    if (actual !== 0) {
      s.nonZeroTargets += 1;
      s.sumAbsPercentError += Math.abs(error) / Math.abs(actual);
    }
  }
  return s;
}

describe("regressionMetrics", () => {
  it.each([
    {
      /*
       * (prediction, actual): (3,2) (1,4) (5,0) (2,2) → errors 1, −3, 5, 0
       * bias = (1 − 3 + 5 + 0)/4 = 3/4; mae = (1 + 3 + 5 + 0)/4 = 9/4; rmse = √((1 + 9 + 25 + 0)/4) = √8.75
       * mape skips the zero target (5,0): (1/2 + 3/4 + 0/2)/3 = 1.25/3 = 5/12
       */
      name: "a zero target is left out of MAPE only",
      pairs: [
        [3, 2],
        [1, 4],
        [5, 0],
        [2, 2],
      ] as const,
      want: { bias: 3 / 4, mae: 9 / 4, rmse: 2.958039891549808, mape: 5 / 12 },
    },
    {
      // errors 1, −2 → bias −1/2, mae 3/2, rmse √(5/2) ≈ 1.5811388300841898; no non-zero target → mape null
      name: "all-zero targets give no MAPE",
      pairs: [
        [1, 0],
        [-2, 0],
      ] as const,
      want: { bias: -1 / 2, mae: 3 / 2, rmse: 1.5811388300841898, mape: null },
    },
    {
      // errors 0, 0 → everything 0; mape (0/10 + 0/−4)/2 = 0
      name: "perfect predictions score 0",
      pairs: [
        [10, 10],
        [-4, -4],
      ] as const,
      want: { bias: 0, mae: 0, rmse: 0, mape: 0 },
    },
    {
      // error −1 on a target of −4 → |−1|/|−4| = 1/4 as a fraction, not 25
      name: "MAPE is a fraction and uses |actual|",
      pairs: [[-5, -4]] as const,
      want: { bias: -1, mae: 1, rmse: 1, mape: 1 / 4 },
    },
  ])("$name", ({ pairs, want }) => {
    const got = regressionMetrics(sumsOf(pairs));
    if (!got) throw new Error("expected metrics, got undefined");
    expect(got.bias).toBeCloseTo(want.bias, 12);
    expect(got.mae).toBeCloseTo(want.mae, 12);
    expect(got.rmse).toBeCloseTo(want.rmse, 12);
    if (want.mape === null) expect(got.mape).toBeNull();
    else expect(got.mape).toBeCloseTo(want.mape, 12);
  });

  it("has nothing to say about no predictions", () => {
    expect(regressionMetrics(sumsOf([]))).toBeUndefined();
  });

  it.each<Partial<RegressionSums>>([{ n: -1 }, { nonZeroTargets: 3 }, { nonZeroTargets: -1 }])(
    "rejects impossible counts %o",
    (bad) => {
      expect(() => regressionMetrics({ ...sumsOf([[1, 2]]), ...bad })).toThrow(RangeError);
    },
  );
});
