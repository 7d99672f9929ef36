/** One computed value: a metric of one model version, in one window, for one segment and subject. */
export interface MetricRow {
  windowStartMs: number;
  windowEndMs: number;
  model: string;
  modelVersion: string;
  /** "" for all traffic; `key=value` for one segment value. */
  segment: string;
  metric: string;
  /** A class, a feature, `predicted|actual` for a confusion cell, or "". */
  subject: string;
  value: number;
  /** How many events the value rests on. */
  sampleSize: number;
  /** What a drift metric compared with ("" for others). */
  reference: string;
  status: "ok" | "warn" | "alert";
}

/**
 * The `metrics` table's DDL: the analyzers' results, one row per value, for SQL, Grafana and the web page.
 * ReplacingMergeTree on the row's identity, newest `computed_at` winning: the analyzers write the start of
 * the run that computed a row, so of two overlapping runs the one that read the newer data wins. A recomputed
 * window also has its earlier rows deleted first, so a value that no longer exists (a class relabelled away)
 * does not linger.
 */
export function metricsDdl(db: string, retentionDays: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.metrics
(
  window_start  DateTime64(3, 'UTC'),
  window_end    DateTime64(3, 'UTC'),
  model         LowCardinality(String),
  model_version LowCardinality(String),
  segment       LowCardinality(String),
  metric        LowCardinality(String),
  subject       String,
  value         Float64,
  sample_size   UInt64,
  reference     LowCardinality(String),
  status        LowCardinality(String),
  computed_at   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(computed_at)
PARTITION BY toYYYYMM(window_start)
ORDER BY (model, model_version, metric, segment, subject, window_start)
TTL toDateTime(window_start) + INTERVAL ${retentionDays} DAY`;
}

/**
 * Where the analyzers got to: per analysis configuration, the ingest time up to which every stored event
 * has been analysed. Incremental runs look only at what arrived after it.
 */
export function analyzerStateDdl(db: string): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.analyzer_state
(
  config     String,
  watermark  DateTime64(3, 'UTC'),
  updated_at DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY config`;
}

/**
 * A row as JSONEachRow takes it (times as UTC text, which DateTime64 parses exactly). `computedAtMs`: the
 * row's version, when the run computing it started; the insert's time when unset.
 */
export function metricRecord(row: MetricRow, computedAtMs?: number): Record<string, string | number> {
  return {
    ...(computedAtMs === undefined ? {} : { computed_at: utcText(computedAtMs) }),
    window_start: utcText(row.windowStartMs),
    window_end: utcText(row.windowEndMs),
    model: row.model,
    model_version: row.modelVersion,
    segment: row.segment,
    metric: row.metric,
    subject: row.subject,
    value: row.value,
    sample_size: row.sampleSize,
    reference: row.reference,
    status: row.status,
  };
}

export function utcText(ms: number): string {
  return new Date(ms).toISOString().replace("T", " ").replace("Z", "");
}
