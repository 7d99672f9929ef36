/**
 * The seam between decoding and reading events. Every receiver (OTLP protobuf, OTLP/JSON, NDJSON) walks its
 * body and calls a RecordSink record by record, attribute by attribute; nothing builds a tree of the whole
 * request first, so the hot path allocates little beyond the rows themselves.
 */

/** An OTLP AnyValue. int64 arrives as a number (exact up to 2^53); bytes as a Uint8Array. */
export type AttrValue = string | number | boolean | null | Uint8Array | AttrValue[] | Attributes;

/** An ordered list of key/value pairs: a resource's attributes, or a kvlist value. */
export class Attributes {
  readonly keys: string[] = [];
  readonly values: AttrValue[] = [];

  add(key: string, value: AttrValue): void {
    this.keys.push(key);
    this.values.push(value);
  }

  get size(): number {
    return this.keys.length;
  }

  static readonly EMPTY: Attributes = new Attributes();
}

/** The fields of a log record or span other than its attributes. */
export interface RecordMeta {
  /** Event time in epoch ms; 0 when the sender left it unset. */
  timeMs: number;
  /** Observed time in epoch ms; 0 when unset. */
  observedTimeMs: number;
  /** The LogRecord's event_name; empty when unset (the attribute `event.name` may carry it). */
  eventName: string;
  /** Lower-case hex; empty when absent. */
  traceId: string;
  spanId: string;
  /** A span's duration in ms; null for log records. */
  durationMs: number | null;
}

/**
 * Receives one request's records in order: begin, its attributes, end. The RecordMeta given to endRecord
 * may be reused for the next record: copy what you keep.
 */
export interface RecordSink {
  beginRecord(resource: Attributes): void;
  attribute(key: string, value: AttrValue): void;
  /** An attribute whose value is a double: the same as `attribute`, without boxing the number. */
  numberAttribute(key: string, value: number): void;
  endRecord(meta: RecordMeta): void;
}

/** A RecordMeta with nothing set, to fill in place. */
export function emptyMeta(): RecordMeta {
  return { timeMs: 0, observedTimeMs: 0, eventName: "", traceId: "", spanId: "", durationMs: null };
}

/** Clears a RecordMeta for the next record; returns it. */
export function resetMeta(meta: RecordMeta): RecordMeta {
  meta.timeMs = 0;
  meta.observedTimeMs = 0;
  meta.eventName = "";
  meta.traceId = "";
  meta.spanId = "";
  meta.durationMs = null;
  return meta;
}

/** Nesting deeper than this (arrays and kvlists inside each other) is refused: no event needs it. */
export const MAX_VALUE_DEPTH = 8;
