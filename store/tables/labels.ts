import { tsvNullableNumber, tsvString, tsvTimeMs } from "../tsv.js";

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

export const LABEL_INSERT_COLUMNS = ["time", "model", "prediction_id", "label_class", "label_value"] as const;

/** One TSV line for `INSERT INTO labels (LABEL_INSERT_COLUMNS) FORMAT TabSeparated`. */
export function labelTsv(l: Label): string {
  return `${tsvTimeMs(l.timeMs)}\t${tsvString(l.model)}\t${tsvString(l.predictionId)}\t${tsvString(
    l.labelClass,
  )}\t${tsvNullableNumber(l.labelValue)}\n`;
}
