import { readCallBatch } from "../inference/call-batch.js";
import type { CallReport } from "../inference/captured-call.js";
import { Attributes, type AttrValue, type RecordMeta, type RecordSink } from "../record-sink.js";

/**
 * Captured calls (a call batch) as an OTLP/JSON logs request: how a tap running as its own process sends
 * what it records to a modelwatch service (`/v1/logs`), one LogRecord per prediction, attributes as the
 * event contract names them. Also what reading each call came to.
 */
export function otlpLogsJson(batch: Uint8Array): { body: string; report: CallReport } {
  const sink = new OtlpLogRecords();
  const report = readCallBatch(batch, sink);
  const body = JSON.stringify({
    resourceLogs: [{ resource: { attributes: [] }, scopeLogs: [{ logRecords: sink.logRecords }] }],
  });
  return { body, report };
}

interface KeyValue {
  key: string;
  value: Record<string, unknown>;
}

/** Builds OTLP/JSON LogRecords from the records sent to it. */
class OtlpLogRecords implements RecordSink {
  readonly logRecords: Array<{ timeUnixNano: string; eventName: string; attributes: KeyValue[] }> = [];
  private attributes: KeyValue[] = [];

  beginRecord(_resource: Attributes): void {
    this.attributes = [];
  }

  attribute(key: string, value: AttrValue): void {
    this.attributes.push({ key, value: anyValue(value) });
  }

  numberAttribute(key: string, value: number): void {
    this.attributes.push({ key, value: { doubleValue: value } });
  }

  endRecord(meta: RecordMeta): void {
    this.logRecords.push({
      timeUnixNano: `${Math.round(meta.timeMs)}000000`,
      eventName: meta.eventName,
      attributes: this.attributes,
    });
  }
}

function anyValue(v: AttrValue): Record<string, unknown> {
  if (typeof v === "number") return { doubleValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  if (typeof v === "string") return { stringValue: v };
  if (v === null) return {};
  if (v instanceof Uint8Array) return { bytesValue: Buffer.from(v).toString("base64") };
  if (v instanceof Attributes)
    return {
      kvlistValue: { values: v.keys.map((key, i) => ({ key, value: anyValue(v.values[i] as AttrValue) })) },
    };
  return { arrayValue: { values: v.map(anyValue) } };
}
