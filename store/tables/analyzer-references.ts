/**
 * What an analysis learned of each model version's baseline (its bin edges, top values and bin counts), kept
 * so that a restarted service compares new windows with it instead of reading the whole baseline again.
 * `computed_at` is when the run computing it started: a baseline prediction that arrived after it makes
 * the row stale (analyzers/stored-references.ts checks), and the newest row wins.
 */
export function analyzerReferencesDdl(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.analyzer_references
(
  config        String,
  model         LowCardinality(String),
  model_version LowCardinality(String),
  reference     String,
  computed_at   DateTime64(3, 'UTC'),
  bins          String,
  counts        String
)
ENGINE = ReplacingMergeTree(computed_at)
ORDER BY (config, model, model_version, reference)`;
}
