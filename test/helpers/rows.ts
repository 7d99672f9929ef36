import type { Prediction } from "../../store/index.js";

/** A `predictions` row as the engine returns it in JSONEachRow (64-bit integers as numbers). */
export interface PredictionRow {
  time: string;
  model: string;
  model_version: string;
  prediction_id: string;
  predicted_class: string;
  predicted_value: number | null;
  class_scores: Record<string, number>;
  features_numeric: Record<string, number>;
  features_categorical: Record<string, string>;
  segments: Record<string, string>;
  latency_ms: number | null;
  source: string;
  trace_id: string;
  span_id: string;
  ingest_time: string;
}

/** A prediction with the fields given and the rest empty: no scores, features or segments, version "v1". */
export function emptyPrediction(
  fields: Pick<Prediction, "timeMs" | "model" | "predictionId"> & Partial<Prediction>,
): Prediction {
  return {
    modelVersion: "v1",
    predictedClass: "",
    predictedValue: null,
    classScores: new Map(),
    numericFeatures: new Map(),
    categoricalFeatures: new Map(),
    segments: new Map(),
    latencyMs: null,
    source: "events",
    traceId: "",
    spanId: "",
    ...fields,
  };
}
