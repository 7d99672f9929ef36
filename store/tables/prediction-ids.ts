/**
 * `prediction_ids`: where each prediction sits in time, looked up by id. Filled by a materialized view on
 * every insert into `predictions`, ordered by (model, prediction_id), so finding the windows of the
 * predictions that new labels refer to reads a few granules instead of every prediction id ever stored.
 */
export function predictionIdsDdl(db: string, retentionDays: number): string[] {
  return [
    `CREATE TABLE IF NOT EXISTS ${db}.prediction_ids
(
  model         LowCardinality(String),
  prediction_id String,
  model_version LowCardinality(String),
  time          DateTime64(3, 'UTC')
)
ENGINE = MergeTree
ORDER BY (model, prediction_id)
TTL toDateTime(time) + INTERVAL ${retentionDays} DAY`,
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${db}.prediction_ids_mv TO ${db}.prediction_ids AS
     SELECT model, prediction_id, model_version, time FROM ${db}.predictions`,
  ];
}

/** Fills `prediction_ids` with the predictions stored before the view existed (run once, by the migration). */
export function predictionIdsBackfill(db: string): string {
  return `INSERT INTO ${db}.prediction_ids SELECT model, prediction_id, model_version, time FROM ${db}.predictions`;
}
