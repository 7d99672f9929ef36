import { RowBinaryWriter } from "../row-binary.js";
import { insertLayout } from "./insert-layout.js";

/** The ground truth for one prediction, arriving any time after it. */
export interface Label {
  /** Event time of the label, epoch milliseconds UTC. */
  timeMs: number;
  model: string;
  predictionId: string;
  /** Empty for a regression label. */
  labelClass: string;
  labelValue: number | null;
}

/**
 * The `labels` table's DDL. ReplacingMergeTree keyed by (model, prediction_id) with the ingest time as
 * version, so a later label for the same prediction replaces the earlier one (read with FINAL). It is not
 * partitioned by time on purpose: replacement only happens within a partition, and a correction can carry a
 * different event time than the label it corrects.
 */
export function labelsDdl(db: string, retentionDays: number): string {
  return `CREATE TABLE IF NOT EXISTS ${db}.labels
(
  time          DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
  model         LowCardinality(String),
  prediction_id String,
  label_class   LowCardinality(String),
  label_value   Nullable(Float64),
  ingest_time   DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(ingest_time)
ORDER BY (model, prediction_id)
TTL toDateTime(time) + INTERVAL ${retentionDays} DAY`;
}

/** What an insert writes (ingest_time is the server's), in the order `labelsRowBinary` writes it. */
export const LABEL_INSERT_LAYOUT = insertLayout([
  ["time", "DateTime64(3)"],
  ["model", "String"],
  ["prediction_id", "String"],
  ["label_class", "String"],
  ["label_value", "Nullable(Float64)"],
]);

/** The labels in RowBinary, columns as LABEL_INSERT_LAYOUT lists them. */
export function labelsRowBinary(labels: readonly Label[]): Buffer {
  const w = new RowBinaryWriter(labels.length * 64 + 64);
  for (const l of labels) {
    w.dateTime64Ms(l.timeMs);
    w.string(l.model);
    w.string(l.predictionId);
    w.string(l.labelClass);
    w.nullableFloat64(l.labelValue);
  }
  return w.bytes();
}
