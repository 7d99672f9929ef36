import type { RowBinaryWriter } from "../row-binary.js";
import { insertLayout } from "./insert-layout.js";

/**
 * `shadow_predictions`: what a candidate model answered for a production prediction, beside it by id. Keyed
 * like the predictions (model, time) so a window's comparison reads a range; a candidate run again over the
 * same predictions (a second replay) replaces its earlier answers, the latest run winning.
 */
export function shadowPredictionsDdl(db: string, retentionDays: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.shadow_predictions
(
  time            DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  model           LowCardinality(String),
  model_version   LowCardinality(String),
  candidate       LowCardinality(String),
  prediction_id   String,
  candidate_class LowCardinality(String),
  candidate_value Nullable(Float64),
  candidate_scores Map(String, Float64),
  latency_ms      Float64,
  run_time        DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(run_time)
PARTITION BY toDate(time)
ORDER BY (model, candidate, time, prediction_id)
TTL toDateTime(time) + INTERVAL ${retentionDays} DAY
SETTINGS ttl_only_drop_parts = 1`;
}

/** One candidate answer for one production prediction. */
export interface ShadowPrediction {
  /** The production prediction's event time, epoch ms. */
  timeMs: number;
  model: string;
  modelVersion: string;
  candidate: string;
  predictionId: string;
  /** Empty for a value output. */
  candidateClass: string;
  candidateValue: number | null;
  /** Per-class probabilities, in the candidate's class order; empty for a value output. */
  scoreClasses: readonly string[];
  scores: ArrayLike<number>;
  /** The batch's inference time shared over its rows. */
  latencyMs: number;
}

/** What an insert writes (run_time is the server's), in the order `shadowPredictionRows` writes it. */
export const SHADOW_PREDICTION_INSERT_LAYOUT = insertLayout([
  ["time", "DateTime64(3)"],
  ["model", "String"],
  ["model_version", "String"],
  ["candidate", "String"],
  ["prediction_id", "String"],
  ["candidate_class", "String"],
  ["candidate_value", "Nullable(Float64)"],
  ["candidate_scores", "Map(String, Float64)"],
  ["latency_ms", "Float64"],
]);

/** Appends one answer in RowBinary, columns as SHADOW_PREDICTION_INSERT_LAYOUT lists them. */
export function writeShadowPrediction(w: RowBinaryWriter, p: ShadowPrediction): void {
  w.dateTime64Ms(p.timeMs);
  w.string(p.model);
  w.string(p.modelVersion);
  w.string(p.candidate);
  w.string(p.predictionId);
  w.string(p.candidateClass);
  w.nullableFloat64(p.candidateValue);
  w.numberMap(p.scoreClasses, p.scores);
  w.float64(p.latencyMs);
}
