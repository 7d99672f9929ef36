import { describe, expect, it } from "vitest";
import { DEFAULT_THRESHOLDS, parseThresholds } from "../../analyzers/index.js";

describe("thresholds from a file", () => {
  it("replace the named metrics' rules and keep the other defaults", () => {
    const parsed = parseThresholds({
      accuracy: { alert: { min: 0.8 } },
      kl_divergence: { warn: { max: 0.05 } },
    });
    expect(parsed).toMatchObject({
      accuracy: { alert: { min: 0.8 } },
      kl_divergence: { warn: { max: 0.05 } },
      psi: DEFAULT_THRESHOLDS.psi,
    });
    // Replaced whole: the default alert band of kl_divergence is gone with its rule.
    expect((parsed as Record<string, unknown>).kl_divergence).toEqual({ warn: { max: 0.05 } });
  });

  it("list every problem by metric and field", () => {
    expect(
      parseThresholds({
        acuracy: { alert: { min: 0.8 } },
        recall_macro: { alert: { min: "0.8" } },
        f1_macro: { warn: { min: 0.9, max: 0.1 } },
        mae: { referenceK: -1, band: {} },
      }),
    ).toEqual([
      expect.stringMatching(/^acuracy: not a metric \(one of count, /),
      "recall_macro.alert: min must be a number",
      "f1_macro.warn: min is above max",
      "mae.referenceK: must be a positive number",
      "mae.band: unknown field (warn, alert, referenceK)",
    ]);
    expect(parseThresholds([])).toEqual(["must be a JSON object of metric name → rule"]);
  });
});
