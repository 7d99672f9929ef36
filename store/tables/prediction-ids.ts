/**
 * `prediction_ids`: where each prediction sits in time, looked up by id, so finding the windows of the
 * predictions that new labels refer to reads a few granules instead of every prediction id ever stored.
 * The analyzers add the predictions stored since their previous run, in the background: an index kept on
 * every insert (a materialized view) cost ingest 10–15 % of its throughput (measured). Repeats collapse.
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
