import { RowBinaryReader, RowBinaryWriter, stringCache } from "../row-binary.js";
import { insertLayout } from "./insert-layout.js";

/** Where a prediction entered modelwatch. */
export const PREDICTION_SOURCES = ["otlp-logs", "otlp-traces", "events", "tap"] as const;
export type PredictionSource = (typeof PREDICTION_SOURCES)[number];

/** One prediction event, as a row object. */
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
  classScores: Map<string, number>;
  numericFeatures: Map<string, number>;
  categoricalFeatures: Map<string, string>;
  segments: Map<string, string>;
  latencyMs: number | null;
  source: PredictionSource;
  /** Lower-case hex, empty when absent. */
  traceId: string;
  spanId: string;
}

/** One prediction with its maps as parallel key/value arrays: what a producer fills, record by record. */
export interface PredictionParts
  extends Omit<Prediction, "classScores" | "numericFeatures" | "categoricalFeatures" | "segments"> {
  scoreKeys: readonly string[];
  scoreValues: readonly number[];
  numericKeys: readonly string[];
  numericValues: readonly number[];
  categoricalKeys: readonly string[];
  categoricalValues: readonly string[];
  segmentKeys: readonly string[];
  segmentValues: readonly string[];
}

/**
 * Predictions encoded as RowBinary in the insert layout as they are pushed: the collector's hot path writes
 * each accepted record straight into the bytes it will spool, with no row object or column arrays between.
 */
export class PredictionRows {
  private readonly w: RowBinaryWriter;
  private count = 0;

  /** `initialBytes`: room to start with; a good guess saves growing (and copying) the buffer. */
  constructor(initialBytes = 32 * 1024) {
    this.w = new RowBinaryWriter(initialBytes);
  }

  get length(): number {
    return this.count;
  }

  push(p: PredictionParts): void {
    const w = this.w;
    w.dateTime64Ms(p.timeMs);
    w.string(p.model);
    w.string(p.modelVersion);
    w.string(p.predictionId);
    w.string(p.predictedClass);
    w.nullableFloat64(p.predictedValue);
    w.numberMap(p.scoreKeys, p.scoreValues);
    w.numberMap(p.numericKeys, p.numericValues);
    w.stringMap(p.categoricalKeys, p.categoricalValues);
    w.stringMap(p.segmentKeys, p.segmentValues);
    w.nullableFloat64(p.latencyMs);
    w.string(p.source);
    w.string(p.traceId);
    w.string(p.spanId);
    this.count++;
  }

  /** Appends a row object. */
  add(p: Prediction): void {
    this.push({
      ...p,
      scoreKeys: [...p.classScores.keys()],
      scoreValues: [...p.classScores.values()],
      numericKeys: [...p.numericFeatures.keys()],
      numericValues: [...p.numericFeatures.values()],
      categoricalKeys: [...p.categoricalFeatures.keys()],
      categoricalValues: [...p.categoricalFeatures.values()],
      segmentKeys: [...p.segments.keys()],
      segmentValues: [...p.segments.values()],
    });
  }

  /** The rows so far, columns as PREDICTION_INSERT_LAYOUT lists them (a view, valid until the next push). */
  bytes(): Buffer {
    return this.w.bytes();
  }
}

/**
 * Reads rows written by PredictionRows back into objects: for consumers of the acknowledged rows (the
 * shadow runner) and for tests. Throws RangeError on bytes that are not such rows.
 */
export function readPredictionRows(bytes: Uint8Array): Prediction[] {
  const r = new RowBinaryReader(bytes);
  const rows: Prediction[] = [];
  while (!r.done) {
    rows.push({
      timeMs: r.dateTime64Ms(),
      model: r.string(),
      modelVersion: r.string(),
      predictionId: r.string(),
      predictedClass: r.string(),
      predictedValue: r.nullableFloat64(),
      classScores: readMap(r, () => r.float64()),
      numericFeatures: readMap(r, () => r.float64()),
      categoricalFeatures: readMap(r, () => r.string()),
      segments: readMap(r, () => r.string()),
      latencyMs: r.nullableFloat64(),
      source: r.string() as PredictionSource,
      traceId: r.string(),
      spanId: r.string(),
    });
  }
  return rows;
}

/**
 * What a consumer of acknowledged predictions needs to run a model on them: identity and numeric features.
 * One object is refilled for each row; copy what must outlive the visit.
 */
export interface PredictionFeaturesView {
  timeMs: number;
  model: string;
  modelVersion: string;
  predictionId: string;
  /** Parallel arrays, as many entries as `numericCount`. */
  numericKeys: string[];
  numericValues: number[];
  numericCount: number;
  /** Names of the categorical features, as many as `categoricalCount`. */
  categoricalKeys: string[];
  categoricalCount: number;
}

/**
 * Reads rows written by PredictionRows for their features, stepping over the rest; `wanted(model)` says
 * whether a row's features are read at all (rows of other models are only stepped over). Throws RangeError
 * on bytes that are not such rows.
 */
export function scanPredictionFeatures(
  bytes: Uint8Array,
  wanted: (model: string) => boolean,
  visit: (row: PredictionFeaturesView) => void,
): void {
  const r = new RowBinaryReader(bytes);
  // Names repeat from row to row (a producer sends its features in one order): each decoded once.
  const names = stringCache();
  const numericNames = stringCache();
  const categoricalNames = stringCache();
  const row: PredictionFeaturesView = {
    timeMs: 0,
    model: "",
    modelVersion: "",
    predictionId: "",
    numericKeys: [],
    numericValues: [],
    numericCount: 0,
    categoricalKeys: [],
    categoricalCount: 0,
  };
  while (!r.done) {
    row.timeMs = r.dateTime64Ms();
    row.model = r.repeatedString(names, 0);
    const read = wanted(row.model);
    if (read) {
      row.modelVersion = r.repeatedString(names, 1);
      row.predictionId = r.string();
    } else {
      r.skipString();
      r.skipString();
    }
    r.skipString(); // predicted class
    if (r.uint8() === 0) r.skip(8); // predicted value
    for (let n = r.varUInt(); n > 0; n--) {
      r.skipString();
      r.skip(8);
    }
    row.numericCount = 0;
    for (let n = r.varUInt(); n > 0; n--) {
      if (!read) {
        r.skipString();
        r.skip(8);
        continue;
      }
      row.numericKeys[row.numericCount] = r.repeatedString(numericNames, row.numericCount);
      row.numericValues[row.numericCount++] = r.float64();
    }
    row.categoricalCount = 0;
    for (let n = r.varUInt(); n > 0; n--) {
      if (read)
        row.categoricalKeys[row.categoricalCount] = r.repeatedString(
          categoricalNames,
          row.categoricalCount++,
        );
      else r.skipString();
      r.skipString();
    }
    for (let n = r.varUInt(); n > 0; n--) {
      r.skipString();
      r.skipString();
    }
    if (r.uint8() === 0) r.skip(8); // latency
    r.skipString(); // source
    r.skipString(); // trace id
    r.skipString(); // span id
    if (read) visit(row);
  }
}

function readMap<V>(r: RowBinaryReader, value: () => V): Map<string, V> {
  const map = new Map<string, V>();
  for (let n = r.varUInt(); n > 0; n--) map.set(r.string(), value());
  return map;
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

/**
 * The hash of each row's numeric feature names, in order, computed by the engine as rows are stored. A
 * producer sends the same features in the same order, so a model version's rows share one or a few hashes;
 * for each, a feature's position in the map is the same on every row, and its values can be read by
 * position from `features_numeric.values` alone, never reading or comparing the names (analyzers/).
 */
export function numericKeysHashDdl(db: string): string {
  return `ALTER TABLE ${db}.predictions
  ADD COLUMN IF NOT EXISTS numeric_keys_hash UInt64 MATERIALIZED cityHash64(features_numeric.keys)`;
}

/** What an insert writes (ingest_time is the server's), in the order `PredictionRows` writes it. */
export const PREDICTION_INSERT_LAYOUT = insertLayout([
  ["time", "DateTime64(3)"],
  ["model", "String"],
  ["model_version", "String"],
  ["prediction_id", "String"],
  ["predicted_class", "String"],
  ["predicted_value", "Nullable(Float64)"],
  ["class_scores", "Map(String, Float64)"],
  ["features_numeric", "Map(String, Float64)"],
  ["features_categorical", "Map(String, String)"],
  ["segments", "Map(String, String)"],
  ["latency_ms", "Nullable(Float64)"],
  ["source", "String"],
  ["trace_id", "String"],
  ["span_id", "String"],
]);
