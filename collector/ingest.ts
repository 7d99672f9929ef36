import { labelsRowBinary, type PredictionBatch, type PredictionSource } from "../store/index.js";
import { EventReader, type MappingLimits, type Rejection } from "./event-reader.js";
import type { RecordSink } from "./record-sink.js";
import type { Frame, WriteOutcome } from "./spool/index.js";
import type { CollectorMetrics } from "./telemetry.js";

/** What became of one request's records. */
export interface IngestResult {
  accepted: number;
  /** Spans with no model attributes: neither stored nor errors. */
  ignored: number;
  /** The first rejections, each naming its record, for the sender to fix. */
  errorMessage: string;
  /** The records refused, each with its index in the request and the reason. */
  rejections: Rejection[];
  /** Whether the accepted records were stored; when not, the sender should retry the whole request. */
  write: WriteOutcome;
}

/** Receives each acknowledged batch of predictions (the shadow runner's live mirror); must not throw. */
export type PredictionListener = (predictions: PredictionBatch) => void;

/** Where accepted rows go: the spool, which resolves once they are durable. */
export interface RowWriter {
  write(frames: readonly Frame[]): Promise<WriteOutcome>;
}

export interface IngestDeps {
  writer: RowWriter;
  limits: MappingLimits;
  metrics: CollectorMetrics;
  clock?: () => number;
  onPredictions?: PredictionListener;
}

const EMPTY = new Uint8Array(0);

/** How many rejection messages a response spells out; the count covers the rest. */
const MAX_MESSAGES = 5;

/** Reads decoded records as events, writes them, and reports per record what happened. */
export class Ingest {
  private readonly clock: () => number;

  constructor(private readonly deps: IngestDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /**
   * `decode` walks one request body into the sink it is given (and throws on a malformed body, before
   * anything is written).
   */
  async ingest(
    decode: (sink: RecordSink) => void,
    source: PredictionSource,
    signal: string,
  ): Promise<IngestResult> {
    const read = this.read(decode, source, signal);
    const frames: Frame[] = [];
    if (read.predictions)
      frames.push({ table: "predictions", rows: read.predictionRows, records: read.predictions });
    if (read.labels) frames.push({ table: "labels", rows: read.labelRows, records: read.labels });
    // One write for both tables: a request is acknowledged whole or not at all.
    const write = await this.deps.writer.write(frames);
    if (write.ok) {
      if (read.predictions) this.deps.metrics.accepted.add(read.predictions, { signal, kind: "prediction" });
      if (read.labels) this.deps.metrics.accepted.add(read.labels, { signal, kind: "label" });
      if (read.batch && this.deps.onPredictions) notify(this.deps.onPredictions, read.batch);
    }
    return {
      accepted: read.predictions + read.labels,
      ignored: read.ignored,
      errorMessage: summarize(read.rejections),
      rejections: read.rejections,
      write,
    };
  }

  /**
   * Decodes and encodes, synchronously. Only the encoded rows outlive this call (and the batch, when a
   * listener wants it): row objects held across the insert's wait would survive young-generation GCs and
   * be promoted, and collecting them later costs more than everything else here (measured).
   */
  private read(decode: (sink: RecordSink) => void, source: PredictionSource, signal: string) {
    const reader = new EventReader(source, this.deps.limits, this.clock());
    decode(reader);
    const { predictions, labels, rejections } = reader;
    for (const r of rejections) this.deps.metrics.rejected.add(1, { signal, reason: r.reason });
    return {
      predictions: predictions.length,
      labels: labels.length,
      predictionRows: predictions.length ? predictions.toRowBinary() : EMPTY,
      labelRows: labels.length ? labelsRowBinary(labels) : EMPTY,
      rejections,
      ignored: reader.ignored,
      batch: this.deps.onPredictions && predictions.length ? predictions : undefined,
    };
  }
}

function summarize(rejections: readonly Rejection[]): string {
  if (rejections.length === 0) return "";
  const parts = rejections.slice(0, MAX_MESSAGES).map((r) => `record ${r.index}: ${r.message}`);
  const more = rejections.length > MAX_MESSAGES ? `; and ${rejections.length - MAX_MESSAGES} more` : "";
  return `${rejections.length} record(s) rejected: ${parts.join("; ")}${more}`;
}

function notify(listener: PredictionListener, predictions: PredictionBatch): void {
  try {
    listener(predictions);
  } catch {
    // A listener's failure is its own; ingest has already made the records durable.
  }
}
