import { tsvNullableNumber, tsvNumberMap, tsvString, tsvStringMap, tsvTimeMs } from "../tsv.js";

/** Where a prediction entered modelwatch. */
export const PREDICTION_SOURCES = ["otlp-logs", "otlp-traces", "events", "tap"] as const;
export type PredictionSource = (typeof PREDICTION_SOURCES)[number];

/** One prediction event, as the collector produces it and the analyzers and shadow runner read it. */
export interface Prediction {
  /** Event time, epoch milliseconds UTC. */
  timeMs: number;
  model: string;
  /** Empty when the event named no version. */
  modelVersion: string;
  predictionId: string;
  /** Empty for a regression prediction. */
  predictedClass: string;
  predictedValue: number | null;
  classScores: Record<string, number>;
  numericFeatures: Record<string, number>;
  categoricalFeatures: Record<string, string>;
  segments: Record<string, string>;
  latencyMs: number | null;
  source: PredictionSource;
  /** Lower-case hex, empty when absent. */
  traceId: string;
  spanId: string;
}

/** The `predictions` table's DDL. `{db}` and the TTL are fixed by the caller from validated config. */
export function predictionsDdl(db: string, retentionDays: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.predictions
(
  time                 DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  model                LowCardinality(String),
  model_version        LowCardinality(String),
  prediction_id        String,
  predicted_class      LowCardinality(String),
  predicted_value      Nullable(Float64),
  class_scores         Map(String, Float64),
  features_numeric     Map(String, Float64),
  features_categorical Map(String, String),
  segments             Map(String, String),
  latency_ms           Nullable(Float64),
  source               LowCardinality(String),
  trace_id             String,
  span_id              String,
  ingest_time          DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toDate(time)
ORDER BY (model, model_version, time)
TTL toDateTime(time) + INTERVAL ${retentionDays} DAY
SETTINGS ttl_only_drop_parts = 1`;
}

/** Columns written on insert, in the order `predictionTsv` writes them (ingest_time is the server's). */
export const PREDICTION_INSERT_COLUMNS = [
  "time",
  "model",
  "model_version",
  "prediction_id",
  "predicted_class",
  "predicted_value",
  "class_scores",
  "features_numeric",
  "features_categorical",
  "segments",
  "latency_ms",
  "source",
  "trace_id",
  "span_id",
] as const;

/** One TSV line (with its newline) for `INSERT INTO predictions (PREDICTION_INSERT_COLUMNS) FORMAT TabSeparated`. */
export function predictionTsv(p: Prediction): string {
  return `${tsvTimeMs(p.timeMs)}\t${tsvString(p.model)}\t${tsvString(p.modelVersion)}\t${tsvString(
    p.predictionId,
  )}\t${tsvString(p.predictedClass)}\t${tsvNullableNumber(p.predictedValue)}\t${tsvNumberMap(
    p.classScores,
  )}\t${tsvNumberMap(p.numericFeatures)}\t${tsvStringMap(p.categoricalFeatures)}\t${tsvStringMap(
    p.segments,
  )}\t${tsvNullableNumber(p.latencyMs)}\t${p.source}\t${p.traceId}\t${p.spanId}\n`;
}
