import { describe, expect, it } from "vitest";
import {
  type Prediction,
  PredictionRows,
  readPredictionRows,
  scanPredictionFeatures,
} from "../../store/index.js";
import { emptyPrediction } from "../helpers/rows.js";

const full: Prediction = {
  timeMs: Date.UTC(2026, 10, 28, 12, 0, 0, 123),
  model: "fraud",
  modelVersion: "v2",
  predictionId: "p-1",
  predictedClass: "yes",
  predictedValue: 0.75,
  classScores: new Map([
    ["yes", 0.75],
    ["no", 0.25],
  ]),
  numericFeatures: new Map([
    ["amount", -12.5],
    ["age", 1e-300],
  ]),
  categoricalFeatures: new Map([["city", "Zürich"]]),
  segments: new Map([["region", "eu"]]),
  latencyMs: 3.5,
  source: "otlp-logs",
  traceId: "0af7651916cd43dd8448eb211c80319c",
  spanId: "b7ad6b7169203331",
};

describe("PredictionRows", () => {
  it("reads back every field written, nulls and non-ASCII text included", () => {
    const sparse = emptyPrediction({
      timeMs: 0,
      model: full.model,
      modelVersion: full.modelVersion,
      predictionId: "x".repeat(300), // a length past one varint byte
      source: full.source,
    });
    const rows = new PredictionRows(16); // grows past its first buffer
    rows.add(full);
    rows.add(sparse);
    expect(rows.length).toBe(2);
    expect(readPredictionRows(rows.bytes())).toEqual([full, sparse]);
  });

  it("refuses bytes cut short instead of inventing a row", () => {
    const rows = new PredictionRows();
    rows.add(full);
    const bytes = rows.bytes();
    expect(() => readPredictionRows(bytes.subarray(0, bytes.length - 3))).toThrow(RangeError);
  });

  it("are scanned for their features, rows of models not wanted stepped over", () => {
    const rows = new PredictionRows();
    const other: Prediction = {
      ...full,
      model: "other",
      predictionId: "p-2",
      predictedValue: null,
      latencyMs: null,
      numericFeatures: new Map([["x", 1]]),
    };
    // Names read again where the same place held another of the same length ("age", then "bmi").
    const third: Prediction = {
      ...full,
      predictionId: "p-3",
      numericFeatures: new Map([
        ["amount", 7],
        ["bmi", 3],
      ]),
    };
    const fourth: Prediction = { ...full, model: "fraud", predictionId: "p-4", modelVersion: "v3" };
    for (const p of [full, other, third, fourth]) rows.add(p);
    const seen: unknown[] = [];
    scanPredictionFeatures(
      rows.bytes(),
      (model) => model === "fraud",
      (v) => {
        const n = v.numericCount;
        seen.push({
          timeMs: v.timeMs,
          model: v.model,
          modelVersion: v.modelVersion,
          predictionId: v.predictionId,
          numeric: Object.fromEntries(v.numericKeys.slice(0, n).map((k, i) => [k, v.numericValues[i]])),
          categorical: v.categoricalKeys.slice(0, v.categoricalCount),
        });
      },
    );
    const expected = (p: Prediction) => ({
      timeMs: p.timeMs,
      model: p.model,
      modelVersion: p.modelVersion,
      predictionId: p.predictionId,
      numeric: Object.fromEntries(p.numericFeatures),
      categorical: [...p.categoricalFeatures.keys()],
    });
    expect(seen).toEqual([expected(full), expected(third), expected(fourth)]);
    const bytes = rows.bytes();
    expect(() =>
      scanPredictionFeatures(
        bytes.subarray(0, bytes.length - 3),
        () => true,
        () => {},
      ),
    ).toThrow(RangeError);
  });
});
