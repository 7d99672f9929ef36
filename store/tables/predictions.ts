import { RowBinaryWriter } from "../row-binary.js";
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

/** One map column stored flat: row i's entries are keys/values[end[i-1] .. end[i]). */
class MapColumn<V> {
  readonly keys: string[] = [];
  readonly values: V[] = [];
  readonly end: number[] = [];

  /** `writeValue` writes one value in RowBinary (Float64 or String). */
  constructor(private readonly writeValue: (w: RowBinaryWriter, value: V) => void) {}

  /** Row `row` as a RowBinary Map: the entry count, then each key and value. */
  write(w: RowBinaryWriter, row: number): void {
    const start = this.start(row);
    const end = this.end[row] as number;
    w.varUInt(end - start);
    for (let i = start; i < end; i++) {
      w.string(this.keys[i] as string);
      this.writeValue(w, this.values[i] as V);
    }
  }

  push(keys: readonly string[], values: readonly V[]): void {
    for (let i = 0; i < keys.length; i++) {
      this.keys.push(keys[i] as string);
      this.values.push(values[i] as V);
    }
    this.end.push(this.keys.length);
  }

  start(row: number): number {
    return row === 0 ? 0 : (this.end[row - 1] as number);
  }

  toMap(row: number): Map<string, V> {
    const map = new Map<string, V>();
    for (let i = this.start(row); i < (this.end[row] as number); i++)
      map.set(this.keys[i] as string, this.values[i] as V);
    return map;
  }
}

/**
 * A batch of predictions held by column: the collector's hot path appends to it without building an object
 * per row (and the shadow runner reads its features by column). `get(i)` gives a row object when wanted.
 */
export class PredictionBatch {
  private readonly timeMs: number[] = [];
  private readonly model: string[] = [];
  private readonly modelVersion: string[] = [];
  private readonly predictionId: string[] = [];
  private readonly predictedClass: string[] = [];
  private readonly predictedValue: Array<number | null> = [];
  private readonly latencyMs: Array<number | null> = [];
  private readonly source: PredictionSource[] = [];
  private readonly traceId: string[] = [];
  private readonly spanId: string[] = [];
  private readonly scores = new MapColumn(writeFloat64);
  private readonly numeric = new MapColumn(writeFloat64);
  private readonly categorical = new MapColumn(writeString);
  private readonly segments = new MapColumn(writeString);

  get length(): number {
    return this.timeMs.length;
  }

  push(p: PredictionParts): void {
    this.timeMs.push(p.timeMs);
    this.model.push(p.model);
    this.modelVersion.push(p.modelVersion);
    this.predictionId.push(p.predictionId);
    this.predictedClass.push(p.predictedClass);
    this.predictedValue.push(p.predictedValue);
    this.latencyMs.push(p.latencyMs);
    this.source.push(p.source);
    this.traceId.push(p.traceId);
    this.spanId.push(p.spanId);
    this.scores.push(p.scoreKeys, p.scoreValues);
    this.numeric.push(p.numericKeys, p.numericValues);
    this.categorical.push(p.categoricalKeys, p.categoricalValues);
    this.segments.push(p.segmentKeys, p.segmentValues);
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

  /** Row `i` as an object. */
  get(i: number): Prediction {
    if (i < 0 || i >= this.length) throw new RangeError(`row ${i} of a batch of ${this.length}`);
    return {
      timeMs: this.timeMs[i] as number,
      model: this.model[i] as string,
      modelVersion: this.modelVersion[i] as string,
      predictionId: this.predictionId[i] as string,
      predictedClass: this.predictedClass[i] as string,
      predictedValue: this.predictedValue[i] as number | null,
      classScores: this.scores.toMap(i),
      numericFeatures: this.numeric.toMap(i),
      categoricalFeatures: this.categorical.toMap(i),
      segments: this.segments.toMap(i),
      latencyMs: this.latencyMs[i] as number | null,
      source: this.source[i] as PredictionSource,
      traceId: this.traceId[i] as string,
      spanId: this.spanId[i] as string,
    };
  }

  *[Symbol.iterator](): IterableIterator<Prediction> {
    for (let i = 0; i < this.length; i++) yield this.get(i);
  }

  /** The rows in RowBinary, columns as PREDICTION_INSERT_LAYOUT lists them. */
  toRowBinary(): Buffer {
    const w = new RowBinaryWriter(this.length * 400 + 64);
    for (let i = 0; i < this.length; i++) {
      w.dateTime64Ms(this.timeMs[i] as number);
      w.string(this.model[i] as string);
      w.string(this.modelVersion[i] as string);
      w.string(this.predictionId[i] as string);
      w.string(this.predictedClass[i] as string);
      w.nullableFloat64(this.predictedValue[i] as number | null);
      this.scores.write(w, i);
      this.numeric.write(w, i);
      this.categorical.write(w, i);
      this.segments.write(w, i);
      w.nullableFloat64(this.latencyMs[i] as number | null);
      w.string(this.source[i] as string);
      w.string(this.traceId[i] as string);
      w.string(this.spanId[i] as string);
    }
    return w.bytes();
  }
}

function writeFloat64(w: RowBinaryWriter, value: number): void {
  w.float64(value);
}

function writeString(w: RowBinaryWriter, value: string): void {
  w.string(value);
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

/** What an insert writes (ingest_time is the server's), in the order `PredictionBatch.toRowBinary` writes it. */
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
