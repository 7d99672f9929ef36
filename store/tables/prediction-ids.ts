/**
 * `prediction_ids`, as migration 4 created it: each prediction's place in time, ordered by id, which the
 * analyzers kept for finding late labels' predictions. Migration 10 drops it (a skip index on
 * `predictions.prediction_id` does that work now); a migration never changes, so this stays for it.
 */
export function predictionIdsDdl(db: string, retentionDays: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.prediction_ids
(
  model         LowCardinality(String),
  prediction_id String,
  model_version LowCardinality(String),
  time          DateTime64(3, 'UTC')
)
ENGINE = ReplacingMergeTree
ORDER BY (model, prediction_id)
TTL toDateTime(time) + INTERVAL ${retentionDays} DAY`;
}
