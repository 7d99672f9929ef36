import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Analyzer, DEFAULT_ANALYSIS, parseThresholds, type Thresholds } from "../../analyzers/index.js";
import { HOUR_MS, sendLines } from "../helpers/fixtures.js";
import { startTestService, type TestService } from "../helpers/service.js";

const DAY_MS = 24 * HOUR_MS;
const DAY0 = Math.floor(Date.now() / DAY_MS) * DAY_MS - 3 * DAY_MS;
const hour = (h: number) => DAY0 + h * HOUR_MS;

let service: TestService;
beforeAll(async () => {
  service = await startTestService();
  const prediction = (id: string, at: number, cls: string, features: Record<string, number | string>) =>
    JSON.stringify({
      event: "ml.prediction",
      time: at,
      "ml.model.name": "edge",
      "ml.prediction.id": id,
      "ml.prediction.class": cls,
      ...Object.fromEntries(Object.entries(features).map(([k, v]) => [`ml.feature.${k}`, v])),
    });
  const label = (id: string, cls: string) =>
    JSON.stringify({
      event: "ml.label",
      "ml.model.name": "edge",
      "ml.prediction.id": id,
      "ml.label.class": cls,
    });
  await sendLines(service.url, [
    // Hour 0 (the baseline day): a few predictions with feature x, labelled; class "z" occurs only in labels.
    prediction("a1", hour(0), "cat", { x: 1 }),
    prediction("a2", hour(0) + 1, "dog", { x: 2 }),
    prediction("a3", hour(0) + 2, "dog", { x: 3 }),
    label("a1", "cat"),
    label("a2", "z"),
    label("a3", "dog"),
    // Hour 30: one prediction, labelled, without feature x.
    prediction("b1", hour(30), "cat", { y: 5 }),
    label("b1", "dog"),
    // Hour 31: predictions and no labels at all.
    prediction("c1", hour(31), "cat", { x: 2 }),
    prediction("c2", hour(31) + 1, "cat", { x: 9 }),
  ]);
  await service.flushed();
  await new Analyzer(service.store, { ...DEFAULT_ANALYSIS, lateVisibilityMs: 0 }).analyze({
    models: ["edge"],
  });
});
afterAll(async () => {
  await service?.stop();
});

interface Row {
  metric: string;
  subject: string;
  value: number;
  sample_size: number;
}
const at = (h: number) =>
  service.rows<Row>(
    `SELECT metric, subject, value, sample_size FROM modelwatch.metrics FINAL
     WHERE model = 'edge' AND window_start = fromUnixTimestamp64Milli({ws:Int64}, 'UTC') ORDER BY metric, subject`,
    { ws: hour(h) },
  );
const value = (rows: Row[], metric: string, subject = "") =>
  rows.find((r) => r.metric === metric && r.subject === subject)?.value;

describe("the analyzers' edge cases", () => {
  it("a class never predicted has precision 0 (zero_division=0) and recall 0, and counts in the macro mean", async () => {
    const rows = await at(0);
    // 3 labelled: cat→cat ✓, dog→z ✗, dog→dog ✓ → accuracy 2/3.
    expect(value(rows, "accuracy")).toBeCloseTo(2 / 3, 12);
    expect(value(rows, "precision", "z")).toBe(0);
    expect(value(rows, "recall", "z")).toBe(0);
    // recall: cat 1/1, dog 1/1, z 0/1 → macro 2/3.
    expect(value(rows, "recall_macro")).toBeCloseTo(2 / 3, 12);
    // precision: cat 1/1, dog 1/2, z 0 → macro 1.5/3.
    expect(value(rows, "precision_macro")).toBeCloseTo(0.5, 12);
  });

  it("a window with one prediction gets its metrics, and no drift row for a feature it lacks", async () => {
    const rows = await at(30);
    expect(value(rows, "count")).toBe(1);
    expect(value(rows, "accuracy")).toBe(0);
    expect(rows.filter((r) => r.subject === "x")).toEqual([]);
    // y is not in the baseline: nothing to compare it with.
    expect(rows.filter((r) => r.subject === "y")).toEqual([]);
  });

  it("a window with no labels has counts and drift, and no quality metrics", async () => {
    const rows = await at(31);
    expect(value(rows, "count")).toBe(2);
    expect(value(rows, "labelled_count")).toBe(0);
    expect(value(rows, "label_coverage")).toBe(0);
    expect(rows.filter((r) => ["accuracy", "precision", "recall", "f1_macro"].includes(r.metric))).toEqual(
      [],
    );
    // x: baseline [1, 2, 3] → deciles at ⌊l·3⌋: 1,1,1,2,2,2,3,3,3 → edges [1, 2, 3], 4 bins;
    // baseline counts [0, 1, 1, 1], window {2, 9} → [0, 0, 1, 1]; smoothed with ε = 1e-4 over 4 bins.
    const smooth = (c: number[]) => c.map((v) => (v / c.reduce((a, b) => a + b) + 1e-4) / (1 + 4e-4));
    const p = smooth([0, 0, 1, 1]);
    const q = smooth([0, 1, 1, 1]);
    const kl = p.reduce((s, pi, i) => s + pi * Math.log(pi / (q[i] as number)), 0);
    expect(value(rows, "kl_divergence", "x")).toBeCloseTo(kl, 12);
  });

  it("a configured threshold decides the status", async () => {
    const thresholds = parseThresholds({
      accuracy: { warn: { min: 0.9 }, alert: { min: 0.5 } },
    }) as Thresholds;
    await new Analyzer(service.store, { ...DEFAULT_ANALYSIS, thresholds }).analyze({ models: ["edge"] });
    const status = async (h: number) =>
      (
        await service.rows<{ status: string }>(
          `SELECT status FROM modelwatch.metrics FINAL WHERE model = 'edge' AND metric = 'accuracy'
           AND window_start = fromUnixTimestamp64Milli({ws:Int64}, 'UTC')`,
          { ws: hour(h) },
        )
      )[0]?.status;
    expect(await status(0)).toBe("warn"); // 2/3: below 0.9, above 0.5
    expect(await status(30)).toBe("alert"); // 0
  });
});
