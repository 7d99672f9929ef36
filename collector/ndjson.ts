import { Attributes, type AttrValue, MAX_VALUE_DEPTH, type RecordSink } from "./record-sink.js";

/** A line of an NDJSON body that could not be read as an event. */
export interface LineError {
  line: number;
  message: string;
}

/**
 * Reads `POST /v1/events` bodies: one JSON object per line, with the same attribute names as the OTLP
 * contract (`"ml.model.name": "churn"`), plus `event` (ml.prediction or ml.label) and `time` (epoch ms or
 * an ISO 8601 string). Nested objects become kvlists (`"ml.features": {"age": 41}`).
 *
 * Each readable line goes to the sink as one record; returns the line number of each record sent (for
 * messages about it) and the lines that could not be read.
 */
export function decodeNdjson(text: string, sink: RecordSink): { lines: number[]; errors: LineError[] } {
  const lines: number[] = [];
  const errors: LineError[] = [];
  const rows = text.split("\n");
  for (let i = 0; i < rows.length; i++) {
    const line = (rows[i] as string).trim();
    if (line === "") continue;
    const lineNo = i + 1;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      errors.push({ line: lineNo, message: `not valid JSON (${(err as Error).message})` });
      continue;
    }
    const problem = readLine(parsed, sink);
    if (problem) errors.push({ line: lineNo, message: problem });
    else lines.push(lineNo);
  }
  return { lines, errors };
}

/** Sends one line's object to the sink, or returns what is wrong with it (sending nothing). */
function readLine(value: unknown, sink: RecordSink): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return "each line must be a JSON object";
  const attributes = new Attributes();
  let eventName = "";
  let timeMs = 0;
  for (const [key, v] of Object.entries(value)) {
    if (key === "event" || key === "event.name") {
      if (typeof v !== "string") return `${key} must be a string`;
      eventName = v;
    } else if (key === "time") {
      const t = parseTime(v);
      if (t === undefined) return "time must be epoch milliseconds or an ISO 8601 string";
      timeMs = t;
    } else {
      const converted = toAttr(v, 0);
      if (converted === undefined) return `${key} is nested deeper than ${MAX_VALUE_DEPTH} levels`;
      attributes.add(key, converted);
    }
  }
  sink.beginRecord(Attributes.EMPTY);
  for (let i = 0; i < attributes.keys.length; i++) {
    sink.attribute(attributes.keys[i] as string, attributes.values[i] as AttrValue);
  }
  sink.endRecord({ timeMs, observedTimeMs: 0, eventName, traceId: "", spanId: "", durationMs: null });
  return undefined;
}

function toAttr(v: unknown, depth: number): AttrValue | undefined {
  if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
  if (depth >= MAX_VALUE_DEPTH) return undefined;
  if (Array.isArray(v)) {
    const items: AttrValue[] = [];
    for (const item of v) {
      const a = toAttr(item, depth + 1);
      if (a === undefined) return undefined;
      items.push(a);
    }
    return items;
  }
  const kv = new Attributes();
  for (const [k, item] of Object.entries(v as object)) {
    const a = toAttr(item, depth + 1);
    if (a === undefined) return undefined;
    kv.add(k, a);
  }
  return kv;
}

function parseTime(v: unknown): number | undefined {
  if (typeof v === "number" && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === "string" && /^\d{4}-\d{2}-\d{2}T/.test(v)) {
    const ms = Date.parse(v);
    return Number.isNaN(ms) ? undefined : ms;
  }
  return undefined;
}
