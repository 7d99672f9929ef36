/**
 * What every receiver decodes a request into: flat records carrying OTLP attributes, before they are read
 * as prediction or label events. Protobuf, OTLP/JSON and NDJSON all produce this shape.
 */

/** An OTLP AnyValue. int64 arrives as a number (exact up to 2^53); bytes as a Uint8Array. */
export type AttrValue = string | number | boolean | null | Uint8Array | AttrValue[] | Attributes;

/** An ordered list of key/value pairs: a record's or resource's attributes, or a kvlist value. */
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

/** One log record or span, decoded. */
export interface RawRecord {
  /** Event time in epoch ms; 0 when the sender left it unset. */
  timeMs: number;
  /** Observed time in epoch ms; 0 when unset. */
  observedTimeMs: number;
  /** The LogRecord's event_name; empty when unset (the attribute `event.name` may carry it). */
  eventName: string;
  traceId: string;
  spanId: string;
  /** A span's duration in ms; null for log records. */
  durationMs: number | null;
  attributes: Attributes;
  resource: Attributes;
}

/** Nesting deeper than this (arrays and kvlists inside each other) is refused: no event needs it. */
export const MAX_VALUE_DEPTH = 8;
