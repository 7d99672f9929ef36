import { describe, expect, it } from "vitest";
import { emptyRegressionSums } from "../../analyzers/math/index.js";
import { shadowMetrics } from "../../analyzers/shadow-metrics.js";
import type { ShadowCell, ShadowWindow } from "../../analyzers/sql/shadow-cells.js";

const at = { model: "m", modelVersion: "v1", segment: "", windowStartMs: 0, windowMs: 3_600_000 };
const cell = (
  predicted: string,
  candidateClass: string,
  actual: string | null,
  count: number,
): ShadowCell => ({
  predicted,
  candidateClass,
  hasLabel: actual !== null,
  actual: actual ?? "",
  count,
});
const noValues = (): ShadowWindow["values"] => ({
  pairs: 0,
  sumAbsDifference: 0,
  productionBins: [],
  candidateBins: [],
  production: emptyRegressionSums(),
  candidate: emptyRegressionSums(),
});
const smooth = (c: number[]) => c.map((x) => (x / c.reduce((a, b) => a + b) + 1e-4) / (1 + c.length * 1e-4));
const kl = (p: number[], q: number[]) => p.reduce((s, pi, i) => s + pi * Math.log(pi / (q[i] as number)), 0);

function valuesOf(w: ShadowWindow, thresholds = {}) {
  const rows = shadowMetrics(at, w, thresholds);
  return {
    rows,
    value: (metric: string, subject = "cand") =>
      rows.filter((r) => r.metric === metric && r.subject === subject).map((r) => r.value),
  };
}

// Production (predicted) × candidate × label, 8 predictions with classes and 1 with a value:
//   a→a (label a) ×3, a→b (label b) ×1, b→b (unlabelled) ×2, b→a (label b) ×2.
const classified: ShadowWindow = {
  windowStartMs: 0,
  candidate: "cand",
  count: 9,
  sumLatencyMs: 18,
  cells: [
    cell("a", "a", "a", 3),
    cell("a", "b", "b", 1),
    cell("b", "b", null, 2),
    cell("b", "a", "b", 2),
    cell("", "", null, 1),
  ],
  values: {
    ...noValues(),
    pairs: 1,
    sumAbsDifference: 2.5,
    productionBins: [0, 1],
    candidateBins: [1, 0],
    // error 1 for production, 3 for the candidate
    production: { ...emptyRegressionSums(), n: 1, sumError: 1, sumAbsError: 1, sumSquaredError: 1 },
    candidate: { ...emptyRegressionSums(), n: 1, sumError: 3, sumAbsError: 3, sumSquaredError: 9 },
  },
};

describe("shadow metrics from a window's counts", () => {
  const { value, rows } = valuesOf(classified);

  it.each([
    ["shadow_count", 9], // every answer, the value one included
    ["shadow_latency_ms", 2], // 18 / 9
    ["shadow_agreement", 5 / 8], // a→a 3 + b→b 2, of the 8 with classes
    // Labelled: candidate (said, label) a,a ×3 · b,b ×1 · a,b ×2 → 4/6; production a,a ×3 · a,b ×1 · b,b ×2 → 5/6.
    ["shadow_accuracy", 4 / 6],
    ["shadow_production_accuracy", 5 / 6],
    ["shadow_accuracy_delta", 4 / 6 - 5 / 6],
    // recall: candidate a 3/3, b 1/3 → 2/3; production a 3/3, b 2/3 → 5/6.
    ["shadow_recall_macro", 2 / 3],
    ["shadow_production_recall_macro", 5 / 6],
    // F1 = 2tp/(support + predicted): candidate a 6/8, b 2/4 → 0.625; production a 6/7, b 4/5.
    ["shadow_f1_macro", 0.625],
    ["shadow_production_f1_macro", (6 / 7 + 4 / 5) / 2],
    ["shadow_f1_macro_delta", 0.625 - (6 / 7 + 4 / 5) / 2],
    ["shadow_mean_abs_difference", 2.5],
    ["shadow_mae_delta", 3 - 1],
    ["shadow_rmse_delta", 3 - 1],
  ])("%s = %s", (metric, expected) => {
    const [v, ...more] = value(metric);
    expect(more).toEqual([]);
    expect(v).toBeCloseTo(expected, 12);
  });

  it("count each production × candidate cell under `candidate|production|candidate class`", () => {
    const cells = rows.filter((r) => r.metric === "shadow_confusion");
    expect(Object.fromEntries(cells.map((r) => [r.subject, r.value]))).toEqual({
      "cand|a|a": 3,
      "cand|a|b": 1,
      "cand|b|b": 2,
      "cand|b|a": 2,
    });
    expect(cells.every((r) => r.sampleSize === 8)).toBe(true);
  });

  it("measure D(candidate ‖ production) on the classes, once, though values were compared too", () => {
    // candidate a 5, b 3; production a 4, b 4
    expect(value("shadow_kl_divergence")).toHaveLength(1);
    expect(value("shadow_kl_divergence")[0]).toBeCloseTo(kl(smooth([5, 3]), smooth([4, 4])), 12);
    expect(rows.find((r) => r.metric === "shadow_kl_divergence")?.reference).toBe("production");
  });

  it("measure the divergences of a value model on its bins", () => {
    const w: ShadowWindow = {
      ...classified,
      cells: [cell("", "", null, 4)],
      count: 4,
      values: {
        ...noValues(),
        pairs: 4,
        sumAbsDifference: 2,
        candidateBins: [2, 1, 1],
        productionBins: [1, 2, 1],
      },
    };
    const { value: v } = valuesOf(w);
    expect(v("shadow_kl_divergence")[0]).toBeCloseTo(kl(smooth([2, 1, 1]), smooth([1, 2, 1])), 12);
    expect(v("shadow_agreement")).toEqual([]);
    expect(v("shadow_mae")).toEqual([]); // no labels
  });

  it("leave out quality without labels, and grade by the thresholds", () => {
    const w: ShadowWindow = { ...classified, cells: [cell("a", "a", null, 3), cell("a", "b", null, 1)] };
    const { rows: r, value: v } = valuesOf(w, { shadow_agreement: { warn: { min: 0.9 } } });
    expect(v("shadow_accuracy")).toEqual([]);
    expect(v("shadow_recall_macro_delta")).toEqual([]);
    expect(r.find((x) => x.metric === "shadow_agreement")).toMatchObject({ value: 0.75, status: "warn" });
  });
});
