import type { MappingLimits, Rejection } from "./event-reader.js";
import type { CallReport } from "./inference/captured-call.js";
import type { LineError } from "./ndjson.js";
import { type MalformedBody, type ReadResult, type RequestFormat, readRequest } from "./read-request.js";
import type { Frame, WriteOutcome } from "./spool/index.js";
import type { CollectorMetrics } from "./telemetry.js";

/** What became of one request's records. */
export interface IngestResult {
  ok: true;
  accepted: number;
  /** Spans with no model attributes: neither stored nor errors. */
  ignored: number;
  /** The first rejections, each naming its record, for the sender to fix. */
  errorMessage: string;
  /** The records refused, each with its index in the request and the reason. */
  rejections: Rejection[];
  /** NDJSON: the line of each record read, and the lines that were not events. */
  lines: number[];
  lineErrors: LineError[];
  /** Captured calls only: what reading each came to. */
  calls?: CallReport;
  /** Whether the accepted records were made durable; when not, the sender should retry the whole request. */
  write: WriteOutcome;
}

/**
 * Receives each acknowledged batch of predictions as RowBinary in the predictions insert layout; must not
 * throw. Ingest does not touch the bytes after the call (they are durable in the spool), so a listener may
 * keep them or move their buffer to another thread.
 */
export type PredictionListener = (rows: Uint8Array, records: number) => void;

/** Where accepted rows go: the spool, which resolves once they are durable. */
export interface RowWriter {
  write(frames: readonly Frame[]): Promise<WriteOutcome>;
}

/** Turns a body into rows: on the event loop, or on decode threads (DecodePool). */
export interface RequestReader {
  /** The body is handed over: a reader may move it to another thread, so the caller must not use it after. */
  read(format: RequestFormat, body: Uint8Array, receivedAtMs: number): Promise<ReadResult>;
}

export interface IngestDeps {
  reader: RequestReader;
  writer: RowWriter;
  metrics: CollectorMetrics;
  clock?: () => number;
  onPredictions?: PredictionListener;
}

/** How many rejection messages a response spells out; the count covers the rest. */
const MAX_MESSAGES = 5;

/** Reads a request's records as events, writes the accepted ones, and reports per record what happened. */
export class Ingest {
  private readonly clock: () => number;

  constructor(private readonly deps: IngestDeps) {
    this.clock = deps.clock ?? Date.now;
  }

  /** A malformed body comes back as such (nothing of it is written); otherwise what became of each record. */
  async ingest(
    format: RequestFormat,
    body: Uint8Array,
    signal: string,
  ): Promise<IngestResult | MalformedBody> {
    const read = await this.deps.reader.read(format, body, this.clock());
    if (!read.ok) return read;
    const { metrics } = this.deps;
    for (const r of read.rejections) metrics.rejected.add(1, { signal, reason: r.reason });
    const frames: Frame[] = [];
    if (read.predictions)
      frames.push({ table: "predictions", rows: read.predictionRows, records: read.predictions });
    if (read.labels) frames.push({ table: "labels", rows: read.labelRows, records: read.labels });
    // One write for both tables: a request is acknowledged whole or not at all.
    const write = await this.deps.writer.write(frames);
    if (write.ok) {
      if (read.predictions) metrics.accepted.add(read.predictions, { signal, kind: "prediction" });
      if (read.labels) metrics.accepted.add(read.labels, { signal, kind: "label" });
      if (read.predictions && this.deps.onPredictions)
        notify(this.deps.onPredictions, read.predictionRows, read.predictions);
    }
    return {
      ok: true,
      accepted: read.predictions + read.labels,
      ignored: read.ignored,
      errorMessage: summarize(read.rejections),
      rejections: read.rejections,
      lines: read.lines,
      lineErrors: read.lineErrors,
      calls: read.calls,
      write,
    };
  }
}

/** Reads on the event loop: for tests, and for `--decode-threads 0`. */
export function inlineReader(limits: MappingLimits): RequestReader {
  return { read: async (format, body, receivedAtMs) => readRequest(format, body, receivedAtMs, limits) };
}

function summarize(rejections: readonly Rejection[]): string {
  if (rejections.length === 0) return "";
  const parts = rejections.slice(0, MAX_MESSAGES).map((r) => `record ${r.index}: ${r.message}`);
  const more = rejections.length > MAX_MESSAGES ? `; and ${rejections.length - MAX_MESSAGES} more` : "";
  return `${rejections.length} record(s) rejected: ${parts.join("; ")}${more}`;
}

function notify(listener: PredictionListener, rows: Uint8Array, records: number): void {
  try {
    listener(rows, records);
  } catch {
    // A listener's failure is its own; ingest has already made the records durable.
  }
}
