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

/** One candidate answer, as inserted (JSONEachRow; `time` as 'YYYY-MM-DD hh:mm:ss.sss' UTC). */
export interface ShadowPredictionRecord {
  time: string;
  model: string;
  model_version: string;
  candidate: string;
  prediction_id: string;
  candidate_class: string;
  candidate_value: number | null;
  candidate_scores: Record<string, number>;
  /** The batch's inference time shared over its rows. */
  latency_ms: number;
}
