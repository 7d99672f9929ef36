import { Attributes, type AttrValue, type RecordMeta, type RecordSink } from "../../collector/record-sink.js";

/**
 * A RecordSink that keeps each record as a plain object in the NDJSON event shape (`event`, `time`, then
 * the attributes; kvlists as objects), so a test can compare what a reader sent with what it expects.
 */
export class EventObjects implements RecordSink {
  readonly events: Array<Record<string, unknown>> = [];
  private current: Record<string, unknown> = {};

  beginRecord(_resource: Attributes): void {
    this.current = {};
  }

  attribute(key: string, value: AttrValue): void {
    this.current[key] = plain(value);
  }

  numberAttribute(key: string, value: number): void {
    this.current[key] = value;
  }

  endRecord(meta: RecordMeta): void {
    this.events.push({ event: meta.eventName, time: meta.timeMs, ...this.current });
  }
}

function plain(v: AttrValue): unknown {
  if (v instanceof Attributes) {
    const o: Record<string, unknown> = {};
    v.keys.forEach((k, i) => {
      Object.defineProperty(o, k, {
        value: plain(v.values[i] as AttrValue),
        enumerable: true,
        writable: true,
      });
    });
    return o;
  }
  return Array.isArray(v) ? v.map(plain) : v;
}
